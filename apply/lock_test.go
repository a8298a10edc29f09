package apply

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan"
)

// TestLockEach checks that a lock another holds fails its host alone: the
// other hosts' locks are taken, in the order of their names, and held
// until release.
func TestLockEach(t *testing.T) {
	targets := map[string]host.Target{}
	for _, n := range []string{"c", "a", "b"} {
		h, err := host.Root(n, t.TempDir(), "x86_64", host.ScopeSystem)
		if err != nil {
			t.Fatal(err)
		}
		targets[n] = h
	}
	other, err := host.Root("b", filepath.Dir(targets["b"].(*host.RootHost).LockPath()), "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := other.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	release, failed := LockEach(context.Background(), targets, 0, func(e plan.Event) {
		if e.Step == plan.StepLocking {
			order = append(order, e.Host)
		}
	})
	if strings.Join(order, ",") != "a,b,c" {
		t.Errorf("locked in the order %v", order)
	}
	if len(failed) != 1 || failed["b"] == nil || !strings.Contains(failed["b"].Error(), "another fencer holds the lock") {
		t.Errorf("failed %v, want b's lock held", failed)
	}
	for _, n := range []string{"a", "c"} {
		// Tried once: a context that is done waits for nothing.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := targets[n].Lock(done); err == nil {
			t.Errorf("%s: LockEach does not hold its lock", n)
		}
	}
	release()
	unlockB()
	for _, n := range []string{"a", "b", "c"} {
		unlock, err := targets[n].Lock(context.Background())
		if err != nil {
			t.Errorf("%s after release: %v", n, err)
			continue
		}
		unlock()
	}
}
