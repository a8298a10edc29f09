package e2e

import (
	"os"
	"os/exec"
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
