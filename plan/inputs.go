package plan

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// UnitInputs are the host files a service's part of a plan was computed
// from, besides the files fencer writes (those are Changes, each with its
// own prior hash): the unit file and every drop-in systemd reads for the
// unit, whose ExecStart= the plan wrapped and whose settings it checked.
// Apply reads them again under the host's lock and refuses the plan when
// any of them changed, appeared or disappeared.
type UnitInputs struct {
	Unit string `json:"unit"`
	// Fragments are the unit file and its drop-ins in the order systemd
	// reads them (unitfile.Lookup.Unit: those of every name of the
	// unit, its aliases' too), without fencer's own drop-in and
	// any other file the plan writes. Read again, empty for a unit now
	// found nowhere or masked (a plan refuses such a unit).
	Fragments []InputFile `json:"fragments"`
	// Sockets are the files of the socket units other than fencer's that
	// pass fds to the unit (socket files and their drop-ins), the
	// drop-ins of fencer's socket unit for it (its aliases' too), and
	// what systemd would read instead of fencer's socket unit.
	Sockets []InputFile `json:"sockets"`
}

// InputFile is a host file a plan read, with its hash then.
type InputFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// InputChange is how a file a plan read differs now.
type InputChange struct {
	Unit string
	Path string
	// What is "changed", "appeared" or "disappeared".
	What string
	// Role says what files of the unit the plan read, for people ("unit
	// file and drop-ins of metrics.service").
	Role string
}

// hostLookup reads the host's unit search path the way systemd's manager
// will after apply: the unit files, socket units and drop-ins in written
// (path → content), which the plan writes, stand in for the host's where
// they are written.
func hostLookup(ctx context.Context, t host.Reader, facts *host.Facts, written map[string][]byte) (*hostUnits, error) {
	lk, err := host.UnitLookup(ctx, t, facts.UnitSearchPath, written)
	if err != nil {
		return nil, fmt.Errorf("reading the unit search path: %w", err)
	}
	return &hostUnits{Lookup: lk}, nil
}

// unitsWritten returns the unit files, socket units and drop-ins among
// the files a plan writes on a host, by path.
func unitsWritten(files []*File) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range files {
		if f.Role.Text() {
			out[f.Path] = f.Content
		}
	}
	return out
}

// fragmentInputs returns the fragments' paths and hashes, without
// fencer's own drop-in for the unit and the files for which written
// returns true.
func fragmentInputs(frags []unitfile.Fragment, ownDropIn string, written func(string) bool) []InputFile {
	out := []InputFile{}
	for _, fr := range frags {
		if fr.Path == ownDropIn || written(fr.Path) {
			continue
		}
		out = append(out, InputFile{Path: fr.Path, SHA256: Hash(fr.Data)})
	}
	return out
}

// ReadInputs reads again from host t, with its facts now, the files that
// hp's Inputs record, the way planning read them: the unit files, socket
// units and drop-ins hp writes stand in for the host's (as the plan made
// them),
// and the files hp writes are left out. A unit that is now found nowhere,
// masked or an alias of another has other files, or none, so the
// difference shows.
func ReadInputs(ctx context.Context, t host.Reader, facts *host.Facts, hp *HostPlan) ([]UnitInputs, error) {
	changes := map[string]*Change{}
	written := map[string][]byte{}
	for _, ch := range hp.Changes {
		changes[ch.Path] = ch
		if ch.Role.Text() && ch.Action != Delete {
			written[ch.Path] = ch.Content
		}
	}
	isWritten := func(p string) bool { return changes[p] != nil }
	var out []UnitInputs
	if len(hp.Inputs) == 0 {
		return out, nil
	}
	lk, err := hostLookup(ctx, t, facts, written)
	if err != nil {
		return nil, err
	}
	for _, in := range hp.Inputs {
		now := UnitInputs{Unit: in.Unit, Fragments: []InputFile{}, Sockets: []InputFile{}}
		u, err := lk.Unit(in.Unit)
		switch {
		case err == nil:
			now.Fragments = fragmentInputs(u.Fragments, RoleDropIn.Path(facts.Paths, in.Unit), isWritten)
		case errors.Is(err, unitfile.ErrNotFound) || errors.Is(err, unitfile.ErrMasked):
			out = append(out, now)
			continue
		default:
			return nil, fmt.Errorf("reading unit %s: %w", in.Unit, err)
		}
		own := path.Join(facts.Paths.UnitDir, unittext.SocketUnit(in.Unit))
		if written[own] == nil {
			own = ""
		}
		scan, err := scanSockets(lk, u, own)
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", in.Unit, err)
		}
		now.Sockets = socketInputs(scan, isWritten)
		out = append(out, now)
	}
	return out, nil
}

// DiffInputs returns the first difference between the inputs a plan
// recorded and those read now (ReadInputs), nil when there is none.
func DiffInputs(planned, now []UnitInputs) *InputChange {
	byUnit := map[string]UnitInputs{}
	for _, in := range now {
		byUnit[in.Unit] = in
	}
	for _, p := range planned {
		n := byUnit[p.Unit]
		if d := diffFiles(p.Fragments, n.Fragments); d != nil {
			d.Unit, d.Role = p.Unit, "unit file and drop-ins of "+p.Unit
			return d
		}
		if d := diffFiles(p.Sockets, n.Sockets); d != nil {
			d.Unit, d.Role = p.Unit, "socket units that pass fds to "+p.Unit+" and their drop-ins"
			return d
		}
	}
	return nil
}

func diffFiles(planned, now []InputFile) *InputChange {
	was := map[string]string{}
	for _, f := range planned {
		was[f.Path] = f.SHA256
	}
	is := map[string]string{}
	for _, f := range now {
		is[f.Path] = f.SHA256
	}
	// A new file first: one that hides another (a unit file or drop-in
	// of the same name earlier on the search path) makes that one
	// disappear from the list, but the new one is what happened.
	for _, f := range now {
		if _, ok := was[f.Path]; !ok {
			return &InputChange{Path: f.Path, What: "appeared"}
		}
	}
	for _, f := range planned {
		h, ok := is[f.Path]
		switch {
		case !ok:
			return &InputChange{Path: f.Path, What: "disappeared"}
		case h != f.SHA256:
			return &InputChange{Path: f.Path, What: "changed"}
		}
	}
	// The same files with the same hashes: Fragments orders them by
	// name, so the order cannot differ; compare it all the same.
	for i := range planned {
		if planned[i].Path != now[i].Path {
			return &InputChange{Path: now[i].Path, What: "moved in systemd's reading order"}
		}
	}
	return nil
}
