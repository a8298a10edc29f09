package unitfilter

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/usermanager"
	"github.com/fencer-dev/fencer/plan/resolve"
)

func TestMain(m *testing.M) {
	os.Exit(usermanager.RunInNamespace(m))
}

// units are the test's user units: file name to content. Links are
// written as symbolic links (name -> target).
var units = map[string]string{
	// An allow-list with groups, a group removed, an unknown name and
	// group, an errno on an allowed name (ignored), a drop-in, and an
	// alias whose drop-in adds to it.
	"allow.service": `[Service]
ExecStart=/bin/true
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallFilter=no_such_syscall @no-such-group write:EPERM pivot_root
SystemCallErrorNumber=EACCES
SystemCallArchitectures=native
`,
	"allow.service.d/10-more.conf": `[Service]
SystemCallFilter=~mount:EPERM
SystemCallFilter=@clock
`,
	"other.service -> allow.service": "",
	"other.service.d/20-alias.conf": `[Service]
SystemCallFilter=ptrace
SystemCallErrorNumber=kill
`,
	// A deny-list: own errnos, kill, a name a later line allows again,
	// a reset and a new list.
	"deny.service": `[Service]
ExecStart=/bin/true
SystemCallFilter=read
SystemCallFilter=
SystemCallFilter=~@mount:EACCES ptrace
SystemCallFilter=~kill:kill reboot:EPERM umount2
SystemCallFilter=mount
SystemCallFilter=~ptrace:ENOSYS
SystemCallErrorNumber=EPERM
`,
	"deny.service.d/10.conf": `[Service]
SystemCallFilter=~@swap
SystemCallArchitectures=x86-64
SystemCallArchitectures=
SystemCallArchitectures=native
`,
}

func writeUnits(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range units {
		if from, to, ok := strings.Cut(name, " -> "); ok {
			if err := os.Symlink(filepath.Join(dir, to), filepath.Join(dir, from)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAgainstSystemd imports the units through a real user manager's
// host (as fencer import systemd -user does) and compares the effective
// filter with what the manager says it loaded (systemctl --user show -p
// SystemCallFilter): the mode, each name of the host's architecture and
// its errno; and the error number.
func TestAgainstSystemd(t *testing.T) {
	um := usermanager.Start(t)
	dir := filepath.Join(um.Home, ".config", "systemd", "user")
	writeUnits(t, dir)
	if out, err := um.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v\n%s", err, out)
	}
	h, err := host.LocalEnv("local", host.ScopeUser, um.Env)
	if err != nil {
		t.Fatal(err)
	}
	native, _ := arch.Lookup(mustFacts(t, h).Arch)
	for _, unit := range []string{"allow.service", "deny.service"} {
		text, e, _, diags := Import(context.Background(), h, unit)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", unit, diags.Error())
		}
		show, err := um.Show(unit, "SystemCallFilter")
		if err != nil {
			t.Fatal(err)
		}
		allow, want := parseShow(show)
		if allow != e.AllowList {
			t.Errorf("%s: allow-list %v, systemd says %v", unit, e.AllowList, allow)
		}
		got := map[string]int{}
		for n, nm := range e.Names {
			if _, ok := native.Syscall(n); ok {
				got[n] = nm.Errno
			}
		}
		for n := range want {
			if _, ok := native.Syscall(n); !ok {
				delete(want, n)
			}
		}
		if d := diffNames(got, want); d != "" {
			t.Errorf("%s: names differ from systemd's (ours, systemd's):\n%s", unit, d)
		}
		errShow, _ := um.Show(unit, "SystemCallErrorNumber")
		if n := showErrno(errShow); n != e.Errno {
			t.Errorf("%s: SystemCallErrorNumber %d, systemd says %q", unit, e.Errno, errShow)
		}
		checkCompiles(t, unit, text)
		t.Logf("%s: %d names, %d warnings", unit, len(got), len(e.Diags))
	}
}

func mustFacts(t *testing.T, h host.Target) *host.Facts {
	f, err := h.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// parseShow reads systemctl show's SystemCallFilter value: "~" for a
// deny-list, then names, each maybe with ":ERRNO" or ":kill".
func parseShow(v string) (allow bool, names map[string]int) {
	allow = !strings.HasPrefix(v, "~")
	names = map[string]int{}
	for _, w := range strings.Fields(strings.TrimPrefix(v, "~")) {
		n, num, _ := splitErrno(w)
		names[n] = num
	}
	return allow, names
}

// showErrno reads systemctl show's SystemCallErrorNumber: a number, or
// 2147483646 (SECCOMP_ERROR_NUMBER_KILL) for kill.
func showErrno(v string) int {
	if v == "" || v == "kill" || v == "2147483646" {
		return ErrnoKill
	}
	n, ok := ParseErrno(v)
	if !ok {
		return -100
	}
	return n
}

func diffNames(got, want map[string]int) string {
	var lines []string
	for n, g := range got {
		if w, ok := want[n]; !ok || w != g {
			lines = append(lines, n+": ours "+itoa(g)+", systemd's "+func() string {
				if !ok {
					return "absent"
				}
				return itoa(w)
			}())
		}
	}
	for n, w := range want {
		if _, ok := got[n]; !ok {
			lines = append(lines, n+": ours absent, systemd's "+itoa(w))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func itoa(n int) string {
	switch n {
	case noErrno:
		return "no errno"
	case ErrnoKill:
		return "kill"
	}
	return strconv.Itoa(n)
}

// checkCompiles loads the written configuration and compiles its
// service for its architectures.
func checkCompiles(t *testing.T, unit string, text []byte) {
	t.Helper()
	cfg, diags := hclspec.Parse(map[string][]byte{"import.fencer.hcl": text}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("%s: %s\n%s", unit, diags.Error(), text)
	}
	svc := cfg.Services[0]
	for _, a := range resolve.Arches(cfg, svc, nil) {
		if _, diags := resolve.Compile(svc, a); diags.HasErrors() {
			t.Errorf("%s on %s: %s", unit, a.Name, diags.Error())
		}
	}
}
