package plan

import (
	"path"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// Role is what a file fencer writes on a host is. Its value is the word
// plan files and people know the file by ("drop-in"); what a role decides
// — where the file stands, its mode, whether it is text with fencer's
// header, the order apply writes it in, what destroy does with it — is its
// row of one table (roles), which its methods read.
type Role string

// The roles of fencer's files.
const (
	RoleFilter   Role = "filter"
	RoleLoader   Role = "loader"
	RoleDropIn   Role = "drop-in"
	RoleSocket   Role = "socket unit"
	RoleUnitFile Role = "unit file"
	// RoleOriginal is the role of the copy fencer keeps of a file it took
	// over, under host.Paths.OriginalDir.
	RoleOriginal Role = "original"
)

// roleFacts is what a role decides.
type roleFacts struct {
	// order is the role's place among the files apply writes (applyOrder).
	order int
	// mode is the mode fencer writes a file of the role with. An
	// original, and a file put back from one, keep the mode the file had.
	mode uint32
	// text is set for the text files fencer writes, each with its
	// header: the units and drop-ins systemd reads. The others are
	// binary.
	text bool
	// shared is set for a file that may serve other services and
	// configurations: destroy leaves it.
	shared bool
	// runByDropIn is set for a file without a header, which is the
	// configuration's when the service's drop-in, which runs it, is.
	runByDropIn bool
	// path is where the file of the role for a service unit stands on a
	// host; nil for the roles that are not a unit's (the loader, an
	// original).
	path func(ps host.Paths, unit string) string
	// unitOf guesses, from the path of a file of the role, the service
	// unit it is for: path(ps, unitOf(p)) == p tells whether it is.
	unitOf func(p string) string
	// entry is, for a file in the unit directory, the entry of that
	// directory that holds the file of the role for a service unit.
	entry func(unit string) string
	// units lists the Units a change of the file of the role for a
	// service unit may have: the units it changes.
	units func(unit string) [][]string
}

// roles is every role's row.
var roles = map[Role]roleFacts{
	RoleOriginal: {order: -1, mode: 0o644},
	RoleFilter: {order: 0, mode: 0o644, runByDropIn: true,
		path:   func(ps host.Paths, unit string) string { return path.Join(ps.FilterDir, unit+".bpf") },
		unitOf: func(p string) string { return strings.TrimSuffix(path.Base(p), ".bpf") },
		units:  func(unit string) [][]string { return [][]string{{unit}} }},
	RoleLoader: {order: 1, mode: 0o755, shared: true},
	RoleDropIn: {order: 2, mode: 0o644, text: true,
		path:   func(ps host.Paths, unit string) string { return path.Join(ps.UnitDir, unit+".d", unittext.DropInName) },
		unitOf: func(p string) string { return strings.TrimSuffix(path.Base(path.Dir(p)), ".d") },
		entry:  func(unit string) string { return unit + ".d" },
		// With sockets the drop-in makes the service require them.
		units: func(unit string) [][]string { return [][]string{{unit}, {unit, unittext.SocketUnit(unit)}} }},
	RoleSocket: {order: 3, mode: 0o644, text: true,
		path:   func(ps host.Paths, unit string) string { return path.Join(ps.UnitDir, unittext.SocketUnit(unit)) },
		unitOf: func(p string) string { return strings.TrimSuffix(path.Base(p), ".socket") + ".service" },
		entry:  unittext.SocketUnit,
		units:  func(unit string) [][]string { return [][]string{{unittext.SocketUnit(unit)}} }},
	RoleUnitFile: {order: 4, mode: 0o644, text: true,
		path:   func(ps host.Paths, unit string) string { return path.Join(ps.UnitDir, unit) },
		unitOf: path.Base,
		entry:  func(unit string) string { return unit },
		units:  func(unit string) [][]string { return [][]string{{unit}} }},
}

// unitRoles are the roles of a service unit's files, in the order
// FileAt tries them.
var unitRoles = []Role{RoleFilter, RoleUnitFile, RoleSocket, RoleDropIn}

// String is the role's word: the one plan files and people know it by.
func (r Role) String() string { return string(r) }

// Known reports whether r is one of fencer's roles.
func (r Role) Known() bool {
	_, ok := roles[r]
	return ok
}

// Text reports whether a file of the role is text with fencer's header,
// a unit or drop-in systemd reads; the others are binary.
func (r Role) Text() bool { return roles[r].text }

// Mode is the mode fencer writes a file of the role with: 0644, the
// loader 0755. An original (RoleOriginal), and a file put back from one,
// keep the mode the file had.
func (r Role) Mode() uint32 { return roles[r].mode }

// Shared reports whether a file of the role may serve other services and
// configurations (the loader): destroy leaves it.
func (r Role) Shared() bool { return roles[r].shared }

// RunByDropIn reports whether a file of the role has no header and is the
// configuration's when the drop-in that runs it is (a filter).
func (r Role) RunByDropIn() bool { return roles[r].runByDropIn }

// Path is where the file of the role for a service unit stands on a host
// with paths ps; "" for the roles that are not a unit's.
func (r Role) Path(ps host.Paths, unit string) string {
	if f := roles[r].path; f != nil {
		return f(ps, unit)
	}
	return ""
}

// Unit is the unit whose behaviour the file of the role for a service
// unit changes: the socket unit's for a socket unit, the service's else.
func (r Role) Unit(unit string) string {
	if f := roles[r].units; f != nil {
		return f(unit)[0][0]
	}
	return unit
}

// Units lists the Units a change of the file of the role for a service
// unit may have.
func (r Role) Units(unit string) [][]string {
	if f := roles[r].units; f != nil {
		return f(unit)
	}
	return nil
}

// entryRole says which text file of fencer's the entry name of a unit
// directory holds for unit (a drop-in directory, a unit file, a socket
// unit), false when it is none of them.
func entryRole(name, unit string) (Role, bool) {
	if hclspec.ServiceUnitProblem(unit) != "" {
		return "", false
	}
	for _, r := range unitRoles {
		if e := roles[r].entry; e != nil && e(unit) == name {
			return r, true
		}
	}
	return "", false
}

// Place is what a path on a host is of fencer's files (FileAt).
type Place struct {
	Role Role
	// Unit is the service unit the file is for ("" for the loader).
	Unit string
	// Of is, for an original, the file it is the original of.
	Of string
}

// FileAt says which file of fencer's path p is on a host with paths ps and
// the loader at fencerPath: its role and service unit, and for an
// original the file it is the original of (of a text file: fencer takes
// over no other). It is false for a path where fencer writes nothing.
func FileAt(ps host.Paths, fencerPath, p string) (Place, bool) {
	if p == fencerPath && fencerPath != "" {
		return Place{Role: RoleLoader}, true
	}
	if of := OriginalOf(ps, p); of != "" {
		pl, ok := FileAt(ps, fencerPath, of)
		if !ok || !pl.Role.Text() {
			return Place{}, false
		}
		return Place{Role: RoleOriginal, Unit: pl.Unit, Of: of}, true
	}
	for _, r := range unitRoles {
		u := roles[r].unitOf(p)
		if hclspec.ServiceUnitProblem(u) == "" && r.Path(ps, u) == p {
			return Place{Role: r, Unit: u}, true
		}
	}
	return Place{}, false
}

// applyOrder orders writes so that every prefix of them is safe to run:
// the filter and the loader first, then the drop-in, and only then the
// socket unit and the unit file, so that a unit never exists, nor a socket
// that starts it, without the drop-in that wraps it in the loader (apply
// killed half-way through a first install would otherwise leave a service
// that starts unfiltered); and a drop-in naming a new filter hash never
// meets an old filter (the loader refuses it rather than run
// unprotected). Deletions go the other way round; rollback undoes writes
// in reverse, through the same safe states. The original of a file fencer
// takes over is kept before anything is written, and removed only after
// everything else, once it has been put back.
func applyOrder(ch *Change) int {
	if ch.Role == RoleOriginal {
		if ch.Action == Delete {
			return 11
		}
		return -1
	}
	n := roles[ch.Role].order
	if ch.Action == Delete {
		return 10 - n
	}
	return n
}
