package plan

import (
	"path"
	"testing"

	"github.com/fencer-dev/fencer/internal/host"
)

// FileAt reads back the path of every role's file, and nothing else.
func TestFileAtReadsRolePaths(t *testing.T) {
	ps := host.SystemPaths
	const loaderPath = "/usr/local/bin/fencer"
	for _, r := range unitRoles {
		p := r.Path(ps, "m.service")
		got, ok := FileAt(ps, loaderPath, p)
		if !ok || got != (Place{Role: r, Unit: "m.service"}) {
			t.Errorf("%s at %s: FileAt says %+v, %v", r, p, got, ok)
		}
		orig := OriginalPath(ps, p)
		got, ok = FileAt(ps, loaderPath, orig)
		if r.Text() != ok || ok && got != (Place{Role: RoleOriginal, Unit: "m.service", Of: p}) {
			t.Errorf("the original of %s (%s): FileAt says %+v, %v", r, orig, got, ok)
		}
		if r.Text() {
			if e, ok := entryRole(path.Base(entryPath(ps, r, "m.service")), "m.service"); !ok || e != r {
				t.Errorf("%s: the unit directory's entry is read as %q, %v", r, e, ok)
			}
		}
	}
	if got, ok := FileAt(ps, loaderPath, loaderPath); !ok || got.Role != RoleLoader {
		t.Errorf("the loader: FileAt says %+v, %v", got, ok)
	}
	for _, p := range []string{
		"/etc/systemd/system/m.service.d/other.conf",
		"/etc/systemd/system/m.timer",
		"/etc/systemd/system/sub/m.service",
		"/etc/fencer/filters/m.service",
		"/etc/fencer/filters/m.socket.bpf",
		"/usr/local/bin/other",
	} {
		if got, ok := FileAt(ps, loaderPath, p); ok {
			t.Errorf("%s: FileAt says %+v", p, got)
		}
	}
}

// entryPath is the unit directory's entry that holds the file of role r
// for unit.
func entryPath(ps host.Paths, r Role, unit string) string {
	return path.Join(ps.UnitDir, roles[r].entry(unit))
}

// Every role of the table has a mode, and the ones of a unit a path.
func TestRolesTable(t *testing.T) {
	for r, f := range roles {
		if !r.Known() || r.Mode() == 0 {
			t.Errorf("%s: known %v, mode %04o", r, r.Known(), r.Mode())
		}
		unitRole := f.path != nil
		if unitRole != (f.unitOf != nil) || unitRole != (f.units != nil) || f.text && f.entry == nil {
			t.Errorf("%s: a unit's role has a path, a unit, units, and a text one an entry", r)
		}
	}
	if Role("config").Known() {
		t.Error("an unknown role is known")
	}
}
