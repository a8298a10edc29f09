package sshhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/fleettest"
)

// TestFleetManagers reaches simulated hosts (internal/fleettest), each
// with its own systemd user manager: the login user's, and root's through
// become = "sudo" with sudo's plain environment (no XDG_RUNTIME_DIR), which
// the agent completes. Each host is live over SSH: systemctl reaches the
// scope's manager, and the host's lock works.
func TestFleetManagers(t *testing.T) {
	f := fleettest.Start(t, fleettest.Options{Hosts: 2, Become: []int{0}, PlainSudo: true})
	loaders := testLoaders(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, fh := range f.Hosts {
		cfg := Config{Name: fh.Name, Address: fh.Address, Port: fh.Port, User: f.User, IdentityFile: f.Identity,
			KnownHostsFile: f.KnownHosts, Scope: "user", Loaders: loaders, Home: t.TempDir()}
		if fh.Become {
			cfg.Become = "sudo"
		}
		h := dial(t, cfg)
		facts, err := h.Facts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantHome := f.Home
		if fh.Become {
			wantHome = "/root"
		}
		if !facts.Live || !strings.HasPrefix(facts.Paths.UnitDir, wantHome+"/") {
			t.Errorf("host %s (become %v): Live %v, unit directory %s; want a live manager, in %s", fh.Name, fh.Become, facts.Live, facts.Paths.UnitDir, wantHome)
		}
		out, err := h.Systemctl(ctx, "is-system-running")
		if state := strings.TrimSpace(string(out)); state != "running" && state != "degraded" {
			t.Errorf("host %s: systemctl is-system-running: %q, %v", fh.Name, state, err)
		}
		unlock, err := h.Lock(ctx)
		if err != nil {
			t.Fatalf("host %s: %v", fh.Name, err)
		}
		if err := unlock(); err != nil {
			t.Error(err)
		}
	}
}
