package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// unitFileLine is the line of the example's configuration that installs
// the unit; without it fencer wraps the unit the host has.
const unitFileLine = "  unit_file      = replace(file(\"metrics.service\"), \"/usr/local/libexec/metrics-server\", var.server_path)\n"

// vendorUnit is the example's unit as a vendor would ship it, with a
// seccomp sandbox of its own. foreignArch is an architecture other than
// the machine's that the unit allows ("" for none).
func (w *world) vendorUnit(foreignArch string) string {
	unit := strings.Replace(readFile(w.t, filepath.Join(repo(w.t), "examples", "metrics", "metrics.service")), "/usr/local/libexec/metrics-server", w.server, 1)
	sandbox := "[Service]\nSystemCallFilter=@system-service\nSystemCallErrorNumber=EPERM\n"
	if foreignArch != "" {
		sandbox += "SystemCallArchitectures=" + foreignArch + "\n"
	}
	return strings.Replace(unit, "[Service]\n", sandbox, 1)
}

// syscallSet splits systemctl show's SystemCallFilter= value into names;
// a leading "~" (a deny list) stays on the first.
func syscallSet(v string) map[string]bool {
	out := map[string]bool{}
	for _, n := range strings.Fields(v) {
		out[n] = true
	}
	return out
}

func setDiff(a, b map[string]bool) []string {
	var out []string
	for n := range a {
		if !b[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TestVendorSystemCallFilter: a unit with its own SystemCallFilter=,
// SystemCallErrorNumber= and SystemCallArchitectures=, in its file and in
// drop-ins, ends up with exactly the planned name list — plus the @default
// set systemd adds to every allow list — fencer's architectures and
// systemd's kill action.
func TestVendorSystemCallFilter(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	foreign := ""
	if runtime.GOARCH == "amd64" {
		foreign = "x86"
	}
	vendorDir := filepath.Join(w.um.RuntimeDir, "systemd", "user")
	writeFile(t, filepath.Join(vendorDir, "metrics.service"), w.vendorUnit(foreign))
	writeFile(t, filepath.Join(vendorDir, "metrics.service.d", "50-vendor.conf"), "[Service]\nSystemCallFilter=~@privileged\n")
	writeFile(t, filepath.Join(w.unitDir, "metrics.service.d", "60-admin.conf"), "[Service]\nSystemCallFilter=~@mount sendto\n")

	// What systemd adds to any allow list: a unit allowing only read.
	writeFile(t, filepath.Join(vendorDir, "probe.service"), "[Service]\nExecStart=/bin/true\nSystemCallFilter=read\n")
	if _, err := w.um.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	probe := syscallSet(w.show("probe.service", "SystemCallFilter"))
	if !probe["read"] || probe["write"] {
		t.Fatalf("probe.service's SystemCallFilter: %v", setDiff(probe, nil))
	}
	delete(probe, "read")
	implicit := probe
	killNumber := w.show("probe.service", "SystemCallErrorNumber")
	if w.show("metrics.service", "SystemCallErrorNumber") == killNumber {
		t.Fatalf("the vendor unit's SystemCallErrorNumber=EPERM did not take: %s", killNumber)
	}
	// A drop-in for every service (which would have spoilt the probe).
	writeFile(t, filepath.Join(w.unitDir, "service.d", "10-all.conf"), "[Service]\nSystemCallFilter=~read\n")
	t.Logf("systemd adds %d names to an allow list; its kill action is SystemCallErrorNumber=%s", len(implicit), killNumber)

	// The planned names: the drop-in's SystemCallFilter=.
	r := w.fencerCmd("plan", "-json")
	if r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	var planned map[string]bool
	for _, c := range parsePlan(t, r.stdout).Hosts[0].Changes {
		if c.Role != "drop-in" {
			continue
		}
		for _, l := range strings.Split(c.Text, "\n") {
			if v, ok := strings.CutPrefix(l, "SystemCallFilter="); ok && v != "" {
				if planned != nil {
					t.Fatalf("the drop-in sets SystemCallFilter= twice:\n%s", c.Text)
				}
				planned = syscallSet(v)
			}
		}
	}
	if len(planned) == 0 {
		t.Fatalf("no SystemCallFilter= planned:\n%s", r.stdout)
	}

	w.mustApply()
	got := syscallSet(w.show("metrics.service", "SystemCallFilter"))
	want := map[string]bool{}
	for n := range planned {
		want[n] = true
	}
	for n := range implicit {
		want[n] = true
	}
	if extra, missing := setDiff(got, want), setDiff(want, got); len(extra)+len(missing) > 0 {
		t.Errorf("SystemCallFilter: %d names; not planned %q, planned but missing %q", len(got), extra, missing)
	}
	t.Logf("SystemCallFilter: %d names = %d planned ∪ %d implicit", len(got), len(planned), len(implicit))
	if got := w.show("metrics.service", "SystemCallArchitectures"); got != "native" {
		t.Errorf("SystemCallArchitectures=%s, want native (the vendor's %s dropped)", got, foreign)
	}
	if got := w.show("metrics.service", "SystemCallErrorNumber"); got != killNumber {
		t.Errorf("SystemCallErrorNumber=%s, want %s (kill, the vendor's EPERM dropped)", got, killNumber)
	}
	if got := w.show("metrics.service", "ExecStart"); !strings.Contains(got, "path="+w.fencer+" ;") || !strings.Contains(got, "-- "+w.server+" ;") {
		t.Errorf("ExecStart is not the vendor's command wrapped by the loader: %s", got)
	}

	// And it runs, under the policy.
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		t.Fatal(err)
	}
	if _, status, r := w.scrape("/metrics"); status != "200" {
		t.Fatalf("scrape: %s\n%s", status, r)
	}
	pid := w.show("metrics.service", "MainPID")
	if s := readFile(t, "/proc/"+pid+"/status"); !strings.Contains(s, "\nSeccomp:\t2\n") {
		t.Errorf("/proc/%s/status:\n%s", pid, s)
	}
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", code, r)
	}
}

// TestDropInOverridingFencers: a drop-in systemd would read after fencer's
// (it sorts after zz-fencer.conf) and that sets what fencer sets, or one
// named zz-fencer.conf earlier on the unit search path (systemd would read
// it instead of fencer's), would undo the policy: plan and apply refuse
// them, naming the file, and write nothing.
func TestDropInOverridingFencers(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	vendorDir := filepath.Join(w.um.RuntimeDir, "systemd", "user")
	writeFile(t, filepath.Join(vendorDir, "metrics.service"), w.vendorUnit(""))
	w.mustApply()

	for _, tc := range []struct {
		name, path, content, want string
	}{
		{"sorts after", filepath.Join(vendorDir, "metrics.service.d", "zzz-late.conf"), "[Service]\nSystemCallFilter=ptrace\n",
			"sets SystemCallFilter= and sorts after fencer's zz-fencer.conf"},
		{"type-wide", filepath.Join(w.unitDir, "service.d", "zz-late.conf"), "[Service]\nExecStart=\nExecStart=" + w.server + "\n",
			"sets ExecStart= and sorts after fencer's zz-fencer.conf"},
		{"shadows", filepath.Join(w.um.Home, ".config", "systemd", "user.control", "metrics.service.d", "zz-fencer.conf"), "[Service]\nNoNewPrivileges=no\n",
			"systemd reads it instead of fencer's " + w.dropInPath()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, tc.path, tc.content)
			defer os.Remove(tc.path)
			before := snapshot(t, w.um.Home)
			for _, cmd := range []string{"plan", "apply"} {
				r := w.fencerCmd(cmd, "-auto-approve")
				if cmd == "plan" {
					r = w.fencerCmd(cmd)
				}
				if r.code != 1 || !strings.Contains(r.stdout+r.stderr, tc.path) || !strings.Contains(r.stdout+r.stderr, tc.want) {
					t.Errorf("%s: want exit 1 and a message naming %s: %q\n%s", cmd, tc.path, tc.want, r)
				} else {
					t.Logf("%s: %s", cmd, lineWith(r.stdout+r.stderr, tc.want))
				}
			}
			if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
				t.Errorf("written: %q", d)
			}
		})
	}
	// A late drop-in that sets nothing fencer sets is no problem.
	writeFile(t, filepath.Join(vendorDir, "metrics.service.d", "zzz-env.conf"), "[Service]\nEnvironment=A=1\n")
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan with a harmless late drop-in: exit %d\n%s", code, r)
	}

	// Neither such a drop-in nor the unit's removal keeps destroy from
	// removing fencer's files.
	writeFile(t, filepath.Join(vendorDir, "metrics.service.d", "zzz-late.conf"), "[Service]\nSystemCallFilter=ptrace\n")
	if err := os.Remove(filepath.Join(vendorDir, "metrics.service")); err != nil {
		t.Fatal(err)
	}
	if r := w.fencerCmd("destroy", "-auto-approve"); r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Files: 3 destroyed.") {
		t.Errorf("destroy:\n%s", r)
	}
	for _, p := range []string{w.filterPath(), w.socketPath(), w.dropInPath()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after destroy: %v", p, err)
		}
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestForeignSockets: a vendor unit with Sockets= of its own, or another
// socket unit whose Service= names the service, would have systemd pass
// the service other fds before or besides fencer's socket, and the
// policy's fd 3 would be another socket: plan and apply refuse, naming
// the file, and write nothing.
func TestForeignSockets(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	vendorDir := filepath.Join(w.um.RuntimeDir, "systemd", "user")
	vendorUnit := filepath.Join(vendorDir, "metrics.service")
	writeFile(t, vendorUnit, w.vendorUnit(""))
	writeFile(t, filepath.Join(vendorDir, "aaa.socket"), fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", freePort(t)))
	w.mustApply()

	for _, tc := range []struct {
		name, path, content, want string
	}{
		{"Sockets= in the unit", vendorUnit, strings.Replace(w.vendorUnit(""), "[Service]\n", "[Service]\nSockets=aaa.socket\n", 1),
			"sets Sockets=aaa.socket: systemd passes the fds of those socket units to metrics.service before fencer's"},
		{"Service= of another socket unit", filepath.Join(w.unitDir, "other.socket"),
			fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nService=metrics.service\n", freePort(t)),
			"this socket unit passes its fds to metrics.service too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := os.ReadFile(tc.path)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			writeFile(t, tc.path, tc.content)
			defer func() {
				if old != nil {
					writeFile(t, tc.path, string(old))
				} else {
					os.Remove(tc.path)
				}
			}()
			w.edit("metrics.fencer.hcl", "arg0 == 2 || arg0 == fd.logfile\n", "arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
			defer w.edit("metrics.fencer.hcl", "arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n", "arg0 == 2 || arg0 == fd.logfile\n")
			before := snapshot(t, w.um.Home)
			for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
				r := w.fencerCmd(args[0], args[1:]...)
				out := r.stdout + r.stderr
				if r.code != 1 || !strings.Contains(out, tc.path+": ") || !strings.Contains(out, tc.want) ||
					!strings.Contains(out, `fencer cannot guarantee the fd numbers of the policy (fd "metrics_socket" is to be 3)`) {
					t.Errorf("%s: want exit 1 and a message naming %s: %q\n%s", args[0], tc.path, tc.want, r)
				} else {
					t.Logf("%s: %s", args[0], lineWith(out, tc.want))
				}
			}
			if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
				t.Errorf("written: %q", d)
			}
		})
	}
	// As they were, the plan goes through.
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan: exit %d\n%s", code, r)
	}
}
