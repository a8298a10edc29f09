package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// refused runs plan, then apply, with the world's variables and checks that
// each exits 1 with every one of want in its output, writing nothing
// under the user's home or in extra directories.
func (w *world) refused(extra []string, want ...string) {
	w.t.Helper()
	roots := append([]string{w.um.Home}, extra...)
	before := snapshot(w.t, roots...)
	for _, args := range [][]string{{"validate"}, {"plan"}, {"apply", "-auto-approve"}} {
		var r result
		if args[0] == "validate" {
			r = w.run("validate")
			if r.code == 0 {
				continue // the host makes it wrong, not the configuration
			}
		} else {
			r = w.fencerCmd(args[0], args[1:]...)
		}
		out := r.stdout + r.stderr
		ok := r.code == 1
		for _, s := range want {
			ok = ok && strings.Contains(out, s)
		}
		if !ok {
			w.t.Errorf("%s: want exit 1 and %q\n%s", args[0], want, r)
		} else {
			w.t.Logf("%s: exit 1: %s", args[0], lineWith(out, want[0]))
		}
		if strings.Contains(r.stdout, "Apply complete") {
			w.t.Errorf("%s applied:\n%s", args[0], r)
		}
	}
	if d := before.diff(snapshot(w.t, roots...)); len(d) > 0 {
		w.t.Errorf("written: %q", d)
	}
	// Nothing was started either.
	if got := w.show("metrics.service", "ExecMainPID"); got != "0" {
		w.t.Errorf("metrics.service ran: ExecMainPID=%s", got)
	}
}

// unitLine is where diagnostics about the unit name point.
func (w *world) unitLine() string {
	for i, l := range strings.Split(readFile(w.t, filepath.Join(w.cfg, "metrics.fencer.hcl")), "\n") {
		if strings.HasPrefix(l, "  unit           = ") {
			return fmt.Sprintf("on metrics.fencer.hcl line %d, column 20", i+1)
		}
	}
	w.t.Fatal("no unit line")
	return ""
}

// TestBadInput: configurations and hosts fencer must refuse, with a clear
// message and nothing written or run.
func TestBadInput(t *testing.T) {
	t.Run("unit name with a slash", func(t *testing.T) {
		w := newWorld(t)
		w.edit("metrics.fencer.hcl", `unit           = "metrics.service"`, `unit           = "system/metrics.service"`)
		w.refused(nil, `"system/metrics.service" is a path`, "Invalid unit name", w.unitLine())
	})
	t.Run("unit name with dot-dot", func(t *testing.T) {
		w := newWorld(t)
		w.edit("metrics.fencer.hcl", `unit           = "metrics.service"`, `unit           = "../../metrics.service"`)
		w.refused(nil, `"../../metrics.service" is a path`, "Invalid unit name", w.unitLine())
		w2 := newWorld(t)
		w2.edit("metrics.fencer.hcl", `unit           = "metrics.service"`, `unit           = "..service"`)
		w2.refused(nil, `"..service" contains ".."`, "Invalid unit name", w2.unitLine())
	})
	t.Run("symlinked drop-in directory", func(t *testing.T) {
		w := newWorld(t)
		elsewhere := t.TempDir()
		if err := os.MkdirAll(w.unitDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(w.unitDir, "metrics.service.d")); err != nil {
			t.Fatal(err)
		}
		w.refused([]string{elsewhere}, filepath.Join(w.unitDir, "metrics.service.d")+" is a symbolic link")
	})
	t.Run("symlinked unit directory", func(t *testing.T) {
		w := newWorld(t)
		elsewhere := t.TempDir()
		if err := os.MkdirAll(filepath.Dir(w.filterDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, w.filterDir); err != nil {
			t.Fatal(err)
		}
		w.refused([]string{elsewhere}, w.filterDir+" is a symbolic link")
	})
	t.Run("unit that does not exist", func(t *testing.T) {
		w := newWorld(t)
		w.edit("metrics.fencer.hcl", unitFileLine, "")
		w.refused(nil, `service "metrics": unit metrics.service is not on this host (metrics.service: unit not found: no file metrics.service in the unit search path `+w.um.Home,
			`): install the unit there, or give the service a unit_file`)
	})
	// Issue 7, item 8: with exec_start, fencer needs nothing of the unit
	// but its existence, and plan used to plan it ("3 to add") for apply
	// to fail.
	t.Run("unit that does not exist, with exec_start", func(t *testing.T) {
		w := newWorld(t)
		w.edit("metrics.fencer.hcl", unitFileLine, "  exec_start     = var.server_path\n")
		w.refused(nil, `service "metrics": unit metrics.service is not on this host (metrics.service: unit not found: no file metrics.service in the unit search path `+w.um.Home,
			`): install the unit there, or give the service a unit_file`)
	})
	t.Run("masked unit", func(t *testing.T) {
		w := newWorld(t)
		w.edit("metrics.fencer.hcl", unitFileLine, "  exec_start     = var.server_path\n")
		writeFile(t, filepath.Join(w.um.RuntimeDir, "systemd", "user", "metrics.service"), w.vendorUnit(""))
		if err := os.MkdirAll(w.unitDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/null", w.unitFilePath()); err != nil {
			t.Fatal(err)
		}
		w.refused(nil, `service "metrics": unit metrics.service is masked on this host: `+w.unitFilePath()+` is a link to /dev/null, so systemd never starts it; unmask it (systemctl unmask metrics.service)`)
	})
	t.Run("symlinked drop-in directory of an alias", func(t *testing.T) {
		w := newWorld(t)
		elsewhere := t.TempDir()
		writeFile(t, filepath.Join(elsewhere, "zzz.conf"), "[Service]\nExecStart=\nExecStart=/bin/true\n")
		if err := os.MkdirAll(w.unitDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("metrics.service", filepath.Join(w.unitDir, "metrics-alias.service")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(w.unitDir, "metrics-alias.service.d")); err != nil {
			t.Fatal(err)
		}
		w.refused([]string{elsewhere}, filepath.Join(w.unitDir, "metrics-alias.service.d")+" is a symbolic link")
	})
	for _, tc := range []struct{ name, service, want string }{
		{"ExecStart with +", "[Service]\nExecStart=+SERVER\n", "ExecStart=+SERVER cannot be wrapped: ExecStart=+... runs without sandboxing"},
		{"ExecStart with !", "[Service]\nExecStart=!SERVER\n", "ExecStart=!SERVER cannot be wrapped"},
		{"two ExecStart", "[Service]\nType=oneshot\nExecStart=SERVER\nExecStart=/bin/true\n", "unit metrics.service has 2 ExecStart= commands; fencer wraps exactly one — set exec_start"},
		{"no ExecStart", "[Service]\nType=oneshot\nExecStop=/bin/true\n", "unit metrics.service has no ExecStart= to wrap; set exec_start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.edit("metrics.fencer.hcl", unitFileLine, "")
			writeFile(t, w.unitFilePath(), strings.ReplaceAll(tc.service, "SERVER", w.server))
			w.refused(nil, strings.ReplaceAll(tc.want, "SERVER", w.server))
		})
	}
}

// TestExecRefusesForeignFilter: fencer exec, handed a filter compiled for
// another architecture (with its right hash), or a file that is not the
// planned filter, says why and never runs the command; handed the
// machine's filter it runs it.
func TestExecRefusesForeignFilter(t *testing.T) {
	fencer, server := binaries(t)
	dir := t.TempDir()
	cfg := filepath.Join(repo(t), "examples", "metrics")
	export := func(arch string) (path, sum string) {
		path = filepath.Join(dir, arch+".bpf")
		r := run(t, exec.Command(fencer, "-chdir="+cfg, "export", "bpf", "-arch="+arch, "-out="+path, "service.metrics"))
		if r.code != 0 {
			t.Fatalf("export: %s", r)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return path, sha(b)
	}
	marker := filepath.Join(dir, "ran")
	execute := func(filter, sum string, command ...string) result {
		args := append([]string{"exec", "-filter=" + filter, "-sha256=" + sum, "--"}, command...)
		return run(t, exec.Command(fencer, args...))
	}
	touch := []string{"/bin/sh", "-c", "echo ran > " + marker}

	host := hostArch()
	for _, tc := range []struct{ arch, want string }{
		{"aarch64", "the filter is for aarch64 (AUDIT_ARCH 0xc00000b7), but this machine is " + host},
		{"s390x", "the filter is for s390x (AUDIT_ARCH 0x80000016, big-endian), but this machine is " + host},
		{"i386", "the filter is for i386 (AUDIT_ARCH 0x40000003), but this machine is " + host},
		{"x86_64", "the filter is for x86_64 (AUDIT_ARCH 0xc000003e), but this machine is " + host},
	} {
		if tc.arch == host {
			continue
		}
		filter, sum := export(tc.arch)
		r := execute(filter, sum, touch...)
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "fencer exec: filter "+filter+": "+tc.want+" (AUDIT_ARCH ") {
			t.Errorf("%s filter: want exit 1 and %q\n%s", tc.arch, tc.want, r)
		} else {
			t.Logf("%s filter: exit 1: %s", tc.arch, strings.TrimSpace(r.stderr))
		}
	}
	native, sum := export(hostArch())
	other, otherSum := export("s390x")
	for name, r := range map[string]result{
		"another file's hash": execute(native, otherSum, touch...),
		"a missing file":      execute(filepath.Join(dir, "missing.bpf"), sum, touch...),
		"not a hash":          execute(other, "xyz", touch...),
	} {
		if r.code != 1 || !strings.HasPrefix(r.stderr, "fencer exec: ") {
			t.Errorf("%s: want exit 1 and a message\n%s", name, r)
		} else {
			t.Logf("%s: exit 1: %s", name, strings.TrimSpace(r.stderr))
		}
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the command ran: %v", err)
	}

	// The machine's own filter: the server runs (and, started outside
	// systemd, says so and exits through the syscalls the policy allows).
	r := execute(native, sum, server)
	if r.code != 1 || !strings.Contains(r.stderr, "metrics: LISTEN_FDS is not set") {
		t.Errorf("the machine's filter: want the server's own refusal\n%s", r)
	}
}

// hostArch is this machine's architecture as fencer names it.
func hostArch() string {
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		return ""
	}
	switch m := strings.TrimSpace(string(out)); m {
	case "arm64":
		return "aarch64"
	default:
		return m
	}
}
