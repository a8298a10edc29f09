package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdoptAndDestroyPutsBack: a unit file at fencer's path that is not
// fencer's is shown as taken over, and apply refuses it, writing nothing,
// until -adopt names it; apply then keeps it, and destroy puts it back,
// which systemd reloads.
func TestAdoptAndDestroyPutsBack(t *testing.T) {
	w := newWorld(t)
	const admin = "[Unit]\nDescription=the administrator's own metrics\n\n[Service]\nExecStart=/bin/sleep 600\n"
	writeFile(t, w.unitFilePath(), admin)
	original := filepath.Join(w.um.Home, ".config", "fencer", "originals", "metrics.service")

	r := w.fencerCmd("plan")
	if r.code != 0 || !strings.Contains(r.stdout, "~ "+w.unitFilePath()+"  (unit file, taken over: it is not fencer's (no fencer header))") {
		t.Fatalf("plan does not show the take-over:\n%s", r)
	}
	before := snapshot(t, w.um.Home)
	r = w.fencerCmd("apply", "-auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "run apply with -adopt="+w.unitFilePath()+" to take it over") {
		t.Errorf("apply without -adopt: want exit 1 and the -adopt advice:\n%s", r)
	}
	if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
		t.Errorf("a refused apply wrote: %q", d)
	}

	w.mustApply("-adopt=" + w.unitFilePath())
	if got := readFile(t, original); got != admin {
		t.Errorf("the original kept is %q", got)
	}
	if got := w.show("metrics.service", "Description"); got == "the administrator's own metrics" {
		t.Errorf("after the take-over systemd still reads the administrator's unit")
	}
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", code, r)
	}

	r = w.fencerCmd("destroy", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Files: 4 destroyed, 1 put back as they were.") {
		t.Fatalf("destroy:\n%s\n%s", r, w.um.Log())
	}
	if got := readFile(t, w.unitFilePath()); got != admin {
		t.Errorf("after destroy the unit file is\n%s", got)
	}
	if _, err := os.Stat(original); !os.IsNotExist(err) {
		t.Errorf("the original is still kept: %v", err)
	}
	for _, p := range []string{w.filterPath(), w.dropInPath(), w.socketPath()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after destroy: %v", p, err)
		}
	}
	if got := w.show("metrics.service", "Description"); got != "the administrator's own metrics" {
		t.Errorf("after destroy systemd reads Description=%q", got)
	}
}
