package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxHidingLoader: the example's unit with PrivateTmp=yes, and
// with InaccessiblePaths= over the filter's directory. On the main
// both applied cleanly, verify said in sync, and the service could not
// start (203/EXEC): its /tmp is its own (the test's HOME, loader and
// filter are all under /tmp), and the filter is out of its reach. Now plan
// refuses both, naming the setting and the path, and writes nothing; an
// InaccessiblePaths= elsewhere applies, serves and verifies in sync.
func TestSandboxHidingLoader(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	for _, tc := range []struct{ setting, want string }{
		{"PrivateTmp=yes", "PrivateTmp=yes"},
		{"InaccessiblePaths=-" + w.filterDir, "hides the filter (" + w.filterPath() + ")"},
	} {
		w.edit("metrics.service", "[Service]\n", "[Service]\n"+tc.setting+"\n")
		for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
			cmd := args[0]
			r := w.fencerCmd(cmd, args[1:]...)
			if r.code != 1 || !strings.Contains(r.stdout+r.stderr, tc.want) || !strings.Contains(r.stdout+r.stderr, "203/EXEC") {
				t.Fatalf("%s with %s, want %q:\n%s", cmd, tc.setting, tc.want, r)
			}
		}
		for _, p := range w.managed() {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s was written", tc.setting, p)
			}
		}
		w.edit("metrics.service", "[Service]\n"+tc.setting+"\n", "[Service]\n")
	}

	// Elsewhere, the same kind of setting leaves the service running.
	w.edit("metrics.service", "[Service]\n", "[Service]\nInaccessiblePaths=-/srv/fencer-e2e-nothing\n")
	w.mustApply()
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		t.Fatalf("%v\n%s", err, w.um.Log())
	}
	if _, status, r := w.scrape("/metrics"); status != "200" {
		t.Fatalf("scrape: %q\n%s\n%s", status, r, w.um.Log())
	}
	if r := w.fencerCmd("verify"); r.code != 0 {
		t.Errorf("verify:\n%s", r)
	}
}

// TestSandboxSpecifiers (item 6's siblings): systemd expands specifiers in
// the paths of the sandboxing settings. With the loader under HOME (as
// README's user-scope example has it), a drop-in binding a program of its
// own over the loader through %h made the service start through that
// program, without the filter, while plan found nothing to change; and
// TemporaryFileSystem=%E/fencer (a user manager's %E is ~/.config) hid the
// filter. Plan now refuses both, naming the setting and the file; verify
// reports them.
func TestSandboxSpecifiers(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	loader := filepath.Join(w.um.Home, ".local", "bin", "fencer")
	fencerCmd := func(cmd string, extra ...string) result {
		return w.run(append(append(append([]string{cmd}, w.vars()...), "-var", "fencer_path="+loader), extra...)...)
	}
	if r := fencerCmd("apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	if b, err := os.ReadFile(loader); err != nil || len(b) == 0 {
		t.Fatalf("apply did not install the loader at %s: %v", loader, err)
	}
	// The "loader" a drop-in binds in its place: it runs the service
	// and installs nothing.
	shim := filepath.Join(t.TempDir(), "shim")
	writeFile(t, shim, "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n")
	if err := os.Chmod(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	dropIn := filepath.Join(w.unitDir, "metrics.service.d", "10-sandbox.conf")
	for _, tc := range []struct{ setting, want string }{
		{"BindReadOnlyPaths=" + shim + ":%h/.local/bin/fencer", "may put another host path over the loader (" + loader + ") for the service (fencer cannot tell where %h is on the host; write the path out), so the service would start through whatever program is there instead of fencer's loader, without the planned filter"},
		{"TemporaryFileSystem=%E/fencer:ro", "hides the filter (" + w.filterPath() + ") from the service"},
	} {
		writeFile(t, dropIn, "[Service]\n"+tc.setting+"\n")
		before := snapshot(t, w.um.Home)
		for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
			r := fencerCmd(args[0], args[1:]...)
			if r.code != 1 || !strings.Contains(r.stdout+r.stderr, tc.setting+" ("+dropIn+":2) ") || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("%s with %s: want exit 1 and %q\n%s", args[0], tc.setting, tc.want, r)
			}
		}
		if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
			t.Errorf("%s: written: %q", tc.setting, d)
		}
		if r := fencerCmd("verify"); r.code != 2 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("verify with %s: want exit 2 and %q\n%s", tc.setting, tc.want, r)
		}
	}
	// What systemd does with the first: the service runs, through the
	// shim, with systemd's filters but not fencer's.
	writeFile(t, dropIn, "[Service]\nBindReadOnlyPaths="+shim+":%h/.local/bin/fencer\n")
	w.systemctl("daemon-reload")
	w.systemctl("start", "metrics.socket")
	if _, status, r := w.scrape("/metrics"); status != "200" {
		t.Fatalf("scrape: %q\n%s", status, r)
	}
	status := readFile(t, "/proc/"+w.mainPID()+"/status")
	if !strings.Contains(status, "\nSeccomp_filters:\t2\n") {
		t.Errorf("want systemd's 2 filters only (the shim ran instead of the loader):\n%s", status)
	}
}
