package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 7, items 4 and 5: plan, apply and verify read a unit the way the
// manager does — every name it has, and the unit file it really loads.

// refusedAll asserts that plan and apply exit 1 with a message holding
// every one of want, and that nothing was written.
func (w *world) refusedAll(want ...string) {
	w.t.Helper()
	before := snapshot(w.t, w.um.Home)
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
		r := w.fencerCmd(args[0], args[1:]...)
		out := r.stdout + r.stderr
		ok := r.code == 1 && !strings.Contains(r.stdout, "Apply complete")
		for _, s := range want {
			ok = ok && strings.Contains(out, s)
		}
		if !ok {
			w.t.Errorf("%s: want exit 1 and %q\n%s", args[0], want, r)
		} else {
			w.t.Logf("%s: exit 1: %s", args[0], lineWith(out, want[0]))
		}
	}
	if d := before.diff(snapshot(w.t, w.um.Home)); len(d) > 0 {
		w.t.Errorf("written: %q", d)
	}
}

// staleFor asserts that applying the saved plan planFile is refused
// because path appeared since it was made, and writes nothing.
func (w *world) staleFor(planFile, path string) {
	w.t.Helper()
	before := snapshot(w.t, w.um.Home)
	r := w.run("apply", planFile)
	want := path + " appeared since the plan was made"
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "Apply complete") {
		w.t.Errorf("apply PLANFILE: want exit 1 and %q\n%s", want, r)
	} else {
		w.t.Logf("apply PLANFILE: %s", lineWith(r.stderr, want))
	}
	if d := before.diff(snapshot(w.t, w.um.Home)); len(d) > 0 {
		w.t.Errorf("a refused plan wrote: %q", d)
	}
}

// The rule savedChange changes, so that a saved plan has something to do
// (apply checks a plan's inputs only when it changes files).
const (
	ruleAsIs    = "when     = arg0 == 2 || arg0 == fd.logfile\n"
	ruleChanged = "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n"
)

// savedChange changes a rule of the configuration and saves a plan of it;
// the caller changes it back.
func (w *world) savedChange() string {
	w.t.Helper()
	w.edit("metrics.fencer.hcl", ruleAsIs, ruleChanged)
	planFile := filepath.Join(w.t.TempDir(), "p.plan")
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		w.t.Fatalf("plan -out:\n%s", r)
	}
	return planFile
}

// driftNaming asserts that verify exits 2 and names path.
func (w *world) driftNaming(what, path string) {
	w.t.Helper()
	v := w.verify()
	if v.human.code != 2 || !strings.Contains(v.human.stdout, path) {
		w.t.Errorf("%s: want verify to exit 2 naming %s\n%s", what, path, v.human)
	} else {
		w.t.Logf("%s: verify exit 2:\n%s", what, v.human.stdout)
	}
}

// TestAliasDropIns (item 4): the vendor's unit, enabled with an Alias=
// (as Debian's ssh.service has sshd.service), gets a drop-in under the
// alias's name that resets ExecStart= and SystemCallFilter=. systemd
// applies it; plan and apply refuse it, a saved plan is stale, verify
// reports it. A harmless drop-in of the alias is read as systemd reads it,
// and the service runs under the filter. The alias as the configured unit
// is refused with the unit's own name.
func TestAliasDropIns(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	vendorDir := filepath.Join(w.um.RuntimeDir, "systemd", "user")
	vendor := w.vendorUnit("")
	unit := strings.Replace(vendor, "[Install]\nAlso=metrics.socket\n", "[Install]\nAlias=metrics-alias.service\n", 1)
	if unit == vendor {
		t.Fatalf("the example unit has no [Install] section to change:\n%s", vendor)
	}
	writeFile(t, filepath.Join(vendorDir, "metrics.service"), unit)
	w.systemctl("daemon-reload")
	w.systemctl("enable", "metrics.service")
	link := filepath.Join(w.unitDir, "metrics-alias.service")
	if target, err := os.Readlink(link); err != nil || target != filepath.Join(vendorDir, "metrics.service") {
		t.Fatalf("enable made no alias link %s: %q %v", link, target, err)
	}
	harmless := filepath.Join(w.unitDir, "metrics-alias.service.d", "10-env.conf")
	writeFile(t, harmless, "[Service]\nEnvironment=FROM_ALIAS=1\n")

	w.mustApply()
	w.systemctl("start", "metrics.socket")
	w.serve()
	pid := w.mainPID()
	if s := readFile(t, "/proc/"+pid+"/status"); !strings.Contains(s, "\nSeccomp:\t2\n") {
		t.Errorf("the service runs without a filter:\n%s", s)
	}
	if env := w.show("metrics.service", "Environment"); !strings.Contains(env, "FROM_ALIAS=1") {
		t.Errorf("systemd did not apply the alias's drop-in: Environment=%s", env)
	}
	if names := w.show("metrics.service", "Names"); names != "metrics.service metrics-alias.service" && names != "metrics-alias.service metrics.service" {
		t.Errorf("Names=%s", names)
	}
	w.inSync("a harmless drop-in of the alias")

	// The drop-in: systemd would start the server unwrapped,
	// with no name filter.
	planFile := w.savedChange()
	late := filepath.Join(w.unitDir, "metrics-alias.service.d", "zzz-local.conf")
	writeFile(t, late, "[Service]\nExecStart=\nExecStart="+w.server+"\nSystemCallFilter=\n")
	w.systemctl("daemon-reload")
	if got := w.show("metrics.service", "ExecStart"); strings.Contains(got, w.fencer) {
		t.Fatalf("systemd ignores the alias's drop-in (ExecStart=%s): this test shows nothing", got)
	}
	w.staleFor(planFile, late)
	w.edit("metrics.fencer.hcl", ruleChanged, ruleAsIs)
	w.refusedAll(late + ": this drop-in sets ExecStart=, SystemCallFilter= and sorts after fencer's zz-fencer.conf")
	w.driftNaming("the alias's overriding drop-in", late)

	// Gone again: in sync.
	if err := os.Remove(late); err != nil {
		t.Fatal(err)
	}
	w.systemctl("daemon-reload")
	w.inSync("the alias's drop-in removed")

	// A new alias the manager has not loaded yet: on its next reload the
	// unit has one more name (and would read that name's drop-ins), so
	// what the manager runs is not what fencer checked.
	newLink := filepath.Join(w.unitDir, "metrics-new.service")
	if err := os.Symlink(filepath.Join(vendorDir, "metrics.service"), newLink); err != nil {
		t.Fatal(err)
	}
	w.drifted("an alias the manager has not loaded", drift{kind: "setting", subject: "Names",
		problem: "systemd knows the unit by other names than fencer found in the unit directories",
		want:    "metrics-alias.service metrics-new.service metrics.service", got: "metrics-alias.service metrics.service"})
	w.systemctl("daemon-reload")
	w.inSync("the new alias loaded")
	if err := os.Remove(newLink); err != nil {
		t.Fatal(err)
	}
	w.systemctl("daemon-reload")

	// The alias as the service's unit.
	w.edit("metrics.fencer.hcl", `unit           = "metrics.service"`, `unit           = "metrics-alias.service"`)
	w.refusedAll(fmt.Sprintf(`service "metrics": unit metrics-alias.service is an alias of metrics.service on this host (%s is a link to metrics.service)`, link),
		`set unit = "metrics.service"`)
}

// TestUnitFileShadowed (item 5): a copy of the unit fencer installs with
// unit_file, earlier on the user unit search path, is what the manager
// loads — here with Sockets= of another socket unit, which would move the
// policy's socket from fd 3 to fd 4. plan and apply refuse it in each of
// those directories, naming the file; a saved plan is stale; verify
// reports it. So for a copy of fencer's socket unit.
func TestUnitFileShadowed(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("applied")
	other := fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", freePort(t))
	writeFile(t, filepath.Join(w.unitDir, "other.socket"), other)
	copyOf := strings.Replace(readFile(t, w.unitFilePath()), "[Service]\n", "[Service]\nSockets=other.socket\n", 1)

	// The manager empties generator.early on each reload: a generator
	// writes the copy there, for this manager only.
	early := filepath.Join(w.um.RuntimeDir, "systemd", "generator.early")
	src := filepath.Join(t.TempDir(), "metrics.service")
	generator := "/run/systemd/user-generators/fencer-e2e-early"
	writeFile(t, generator, fmt.Sprintf("#!/bin/sh\n[ \"$2\" = %q ] && [ -f %q ] && cp %q \"$2/metrics.service\"\nexit 0\n", early, src, src))
	if err := os.Chmod(generator, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(generator) })

	for i, dir := range []string{
		filepath.Join(w.um.Home, ".config", "systemd", "user.control"),
		filepath.Join(w.um.RuntimeDir, "systemd", "user.control"),
		filepath.Join(w.um.RuntimeDir, "systemd", "transient"),
		early,
	} {
		var planFile string
		if i == 0 {
			planFile = w.savedChange()
		}
		shadow, written := filepath.Join(dir, "metrics.service"), filepath.Join(dir, "metrics.service")
		if dir == early {
			written = src
		}
		writeFile(t, written, copyOf)
		w.systemctl("daemon-reload")
		if got := w.show("metrics.service", "FragmentPath"); got != shadow {
			t.Fatalf("systemd loads %s, not the copy %s: this test shows nothing", got, shadow)
		}
		if i == 0 {
			w.staleFor(planFile, shadow)
			w.edit("metrics.fencer.hcl", ruleChanged, ruleAsIs)
		}
		w.refusedAll(`service "metrics": `+shadow+": this unit file comes earlier on the unit search path than the unit_file fencer installs at "+w.unitFilePath(),
			"so systemd reads it instead and fencer's has no effect")
		if i == 0 {
			w.driftNaming("a copy of the unit file", shadow)
		}
		if err := os.Remove(written); err != nil {
			t.Fatal(err)
		}
		w.systemctl("daemon-reload")
	}

	// A copy of fencer's socket unit that listens on more and names
	// another service: fencer's drop-in says Sockets=metrics.socket, so
	// its fds go to metrics.service all the same.
	planFile := w.savedChange()
	shadow := filepath.Join(w.um.RuntimeDir, "systemd", "transient", "metrics.socket")
	copyOfSocket := strings.Replace(readFile(t, w.socketPath()), "Service=metrics.service\n", "Service=other.service\n", 1) + other
	if !strings.Contains(copyOfSocket, "Service=other.service\n") {
		t.Fatalf("fencer's socket unit has no Service= line:\n%s", copyOfSocket)
	}
	writeFile(t, shadow, copyOfSocket)
	w.systemctl("daemon-reload")
	w.staleFor(planFile, shadow)
	w.edit("metrics.fencer.hcl", ruleChanged, ruleAsIs)
	w.refusedAll(`service "metrics": ` + shadow + ": it has the name of fencer's socket unit and comes earlier on the unit search path: systemd reads it instead of fencer's " + w.socketPath())
	w.driftNaming("a copy of the socket unit", shadow)
	if err := os.Remove(shadow); err != nil {
		t.Fatal(err)
	}
	w.systemctl("daemon-reload")
	w.inSync("the copies removed")
}

// TestSymlinkedUnitDirectory: the user's unit directory is a link (to a
// dotfiles checkout, say). systemd follows it, and so does fencer: apply
// writes through it, the service runs under the filter, and verify finds
// the manager's files (whose drop-in paths systemd shows with the link
// resolved) the same as fencer's.
func TestSymlinkedUnitDirectory(t *testing.T) {
	w := newWorld(t)
	elsewhere := filepath.Join(w.um.Home, "dotfiles", "systemd-user")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(w.unitDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, w.unitDir); err != nil {
		t.Fatal(err)
	}
	w.mustApply()
	if _, err := os.Stat(filepath.Join(elsewhere, "metrics.service.d", "zz-fencer.conf")); err != nil {
		t.Fatalf("the drop-in is not behind the link: %v", err)
	}
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("a linked unit directory")
}
