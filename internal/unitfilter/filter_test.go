package unitfilter

import (
	"os"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/syscallgroups"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

func groups252(t *testing.T) *syscallgroups.Groups {
	t.Helper()
	dump, err := os.ReadFile("../syscallgroups/testdata/systemd-252.txt")
	if err != nil {
		t.Fatal(err)
	}
	g, err := syscallgroups.Parse(dump)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func settings(key string, values ...string) []unitfile.Setting {
	var out []unitfile.Setting
	for i, v := range values {
		out = append(out, unitfile.Setting{Value: v, Path: "/u.service", Line: i + 1})
	}
	return out
}

func known(n string) bool { return n != "no_such" }

// TestEvaluate checks systemd's rules on lists whose result systemd 252
// gives (TestAgainstSystemd checks more against a real manager).
func TestEvaluate(t *testing.T) {
	g := groups252(t)
	for _, tc := range []struct {
		name   string
		filter []string
		allow  bool
		want   map[string]int // a selection of names, -3: absent
		warns  int
	}{
		{"allow-list adds @default", []string{"read"}, true, map[string]int{"read": -1, "execve": -1, "write": -3}, 0},
		{"deny entry removes from an allow-list", []string{"read write", "~write:EPERM"}, true, map[string]int{"read": -1, "write": -3}, 0},
		{"reset starts over", []string{"read", "", "~write"}, false, map[string]int{"read": -3, "execve": -3, "write": -1}, 0},
		{"later errno wins", []string{"~write:EPERM", "~write:kill", "~@mount:EACCES"}, false, map[string]int{"write": ErrnoKill, "mount": 13, "umount2": 13}, 0},
		{"allow entry removes from a deny-list", []string{"~write read", "read"}, false, map[string]int{"write": -1, "read": -3}, 0},
		{"mode stays after the list empties", []string{"~write", "write", "read"}, false, map[string]int{"read": -3, "write": -3}, 0},
		{"unknown names and errnos ignored", []string{"read no_such @nope write:EPERM", "~x:EBOGUS"}, true, map[string]int{"read": -1, "write": -3}, 4},
	} {
		e := Evaluate(Settings{Filter: settings("SystemCallFilter", tc.filter...)}, g, known, "x86_64")
		if e.AllowList != tc.allow {
			t.Errorf("%s: allow-list %v", tc.name, e.AllowList)
		}
		for n, w := range tc.want {
			nm, ok := e.Names[n]
			switch {
			case w == -3 && ok:
				t.Errorf("%s: %s is there", tc.name, n)
			case w != -3 && (!ok || nm.Errno != w):
				t.Errorf("%s: %s: %+v, want errno %d", tc.name, n, nm, w)
			}
		}
		if len(e.Diags) != tc.warns {
			t.Errorf("%s: %d warnings, want %d: %v", tc.name, len(e.Diags), tc.warns, e.Diags)
		}
	}
}

func TestErrorNumberAndArches(t *testing.T) {
	e := Evaluate(Settings{
		Filter:      settings("SystemCallFilter", "read"),
		ErrorNumber: settings("SystemCallErrorNumber", "EPERM", "bogus", "EPOLLIN"),
		Archs:       settings("SystemCallArchitectures", "x86", "", "native arm64 x32"),
	}, groups252(t), known, "x86_64")
	if e.Errno != 1 {
		t.Errorf("errno %d, want EPERM (1): the unparsable ones ignored", e.Errno)
	}
	if strings.Join(e.Arches, " ") != "x86_64 aarch64" {
		t.Errorf("arches %q", e.Arches)
	}
	if len(e.Diags) != 3 {
		t.Errorf("warnings %v, want bogus, EPOLLIN and x32", e.Diags)
	}
}

// TestWriteDenyList: a deny-list refuses its names with their actions
// and allows every other syscall of the architecture.
func TestWriteDenyList(t *testing.T) {
	e := Evaluate(Settings{
		Filter:      settings("SystemCallFilter", "~@mount:EACCES ptrace"),
		ErrorNumber: settings("SystemCallErrorNumber", "EPERM"),
	}, groups252(t), known, "x86_64")
	text, err := Write(e, WriteOptions{Service: "u", Unit: "u.service", Native: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	for _, want := range []string{`rule "deny_mount_eacces"`, `action   = errno(EACCES)`, `rule "deny_listed"`,
		`action   = errno(EPERM)`, `rule "everything_else"`, `"read",`, `default_action = kill_process`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in\n%s", want, s)
		}
	}
	if strings.Contains(s, `"ptrace", "read"`) || strings.Count(s, `"mount",`) != 1 {
		t.Errorf("a refused name is allowed too:\n%s", s)
	}
	checkCompiles(t, "u.service", text)
	if _, err := Write(Evaluate(Settings{}, groups252(t), known, "x86_64"), WriteOptions{}); err != ErrNoFilter {
		t.Errorf("no filter: %v", err)
	}
}
