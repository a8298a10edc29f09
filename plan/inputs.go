package plan

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/fencer-dev/fencer/internal/unitfile"
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
	// reads them (unitfile.Fragments), without fencer's own drop-in and
	// any other file the plan writes. Empty when the unit is found
	// nowhere or masked.
	Fragments []InputFile `json:"fragments"`
	// Sockets are the files of the socket units other than fencer's that
	// pass fds to the unit (socket files and their drop-ins), and the
	// drop-ins of fencer's socket unit for it.
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

// readFragments reads a unit's file and its drop-ins from the host, in
// the order systemd reads them, fencer's own drop-in included; unitFile,
// when not nil, is the unit file fencer installs in the unit directory,
// which stands in for the host's there and wins over any other of that
// name.
func readFragments(ctx context.Context, t Host, facts *Facts, unit string, unitFile []byte) ([]unitfile.Fragment, error) {
	own := path.Join(facts.Paths.UnitDir, unit)
	read := func(p string) ([]byte, error) {
		if unitFile != nil && p == own {
			return unitFile, nil
		}
		b, _, err := t.ReadFile(ctx, p)
		return b, err
	}
	readDir := func(p string) ([]string, error) { return t.ReadDir(ctx, p) }
	search := facts.UnitSearchPath
	if unitFile != nil {
		search = append([]string{facts.Paths.UnitDir}, search...)
	}
	return unitfile.Fragments(read, readDir, search, unit, nil)
}

// absentUnit reports whether err from readFragments means the unit has no
// fragments to depend on: it is found nowhere, or masked.
func absentUnit(err error) bool {
	return errors.Is(err, unitfile.ErrNotFound) || errors.Is(err, unitfile.ErrMasked)
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
		out = append(out, InputFile{Path: fr.Path, SHA256: hashOf(fr.Data)})
	}
	return out
}

// ReadInputs reads again from host t, with its facts now, the files that
// hp's Inputs record, the way planning read them: the unit file a change
// of hp installs stands in for the host's (as the plan made it), and the
// files hp writes are left out.
func ReadInputs(ctx context.Context, t Host, facts *Facts, hp *HostPlan) ([]UnitInputs, error) {
	changes := map[string]*Change{}
	for _, ch := range hp.Changes {
		changes[ch.Path] = ch
	}
	written := func(p string) bool { return changes[p] != nil }
	var out []UnitInputs
	for _, in := range hp.Inputs {
		var unitFile []byte
		if ch := changes[path.Join(facts.Paths.UnitDir, in.Unit)]; ch != nil && ch.Role == "unit file" && ch.Action != Delete {
			unitFile = ch.Content
		}
		now := UnitInputs{Unit: in.Unit, Fragments: []InputFile{}}
		frags, err := readFragments(ctx, t, facts, in.Unit, unitFile)
		switch {
		case err == nil:
			now.Fragments = fragmentInputs(frags, dropInPath(facts.Paths, in.Unit), written)
		case !absentUnit(err):
			return nil, fmt.Errorf("reading unit %s: %w", in.Unit, err)
		}
		var own string
		var ownContent []byte
		if ch := changes[path.Join(facts.Paths.UnitDir, SocketUnit(in.Unit))]; ch != nil && ch.Role == "socket unit" && ch.Action != Delete {
			own, ownContent = ch.Path, ch.Content
		}
		scan, err := scanSockets(ctx, t, facts, in.Unit, own, ownContent)
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", in.Unit, err)
		}
		now.Sockets = socketInputs(scan, written)
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
