package sshhost

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/fleettest"
)

// TestFleetManagers reaches simulated hosts (internal/fleettest), each
// with its own systemd user manager: the login user's, and root's through
// become = "sudo" with sudo's plain environment (no XDG_RUNTIME_DIR), which
// the agent completes. Each host is live over SSH: systemctl reaches the
// scope's manager, and the host's lock is released when the connection
// is cut while it is held.
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
		if _, err := h.Lock(ctx); err != nil {
			t.Fatalf("host %s: %v", fh.Name, err)
		}
		// The connection cut while the lock is held: the agent (under
		// sudo too) sees its input close and exits, and the kernel
		// releases the lock for the next connection.
		if n := fh.CutConnections(); n == 0 {
			t.Errorf("host %s: no connection to cut", fh.Name)
		}
		select {
		case <-h.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("host %s: the cut was not noticed", fh.Name)
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		unlock, err := dial(t, cfg).Lock(wait)
		cancel()
		if err != nil {
			t.Fatalf("host %s: the lock of the connection cut is still held: %v", fh.Name, err)
		}
		if err := unlock(); err != nil {
			t.Error(err)
		}
	}
}

// TestFleetApplyLive applies a service over SSH to a host whose manager
// runs (root's, through become = "sudo"): daemon-reload there, the unit
// started through the loader, and verify reading its filter back with
// ptrace over the connection: in sync; destroy stops it there.
func TestFleetApplyLive(t *testing.T) {
	f := fleettest.Start(t, fleettest.Options{Hosts: 1, Become: []int{0}, PlainSudo: true})
	testLoaders(t)
	blocks, err := f.HostBlocks(fleettest.HCLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fencer := fencerIn(t, configDir(t, "live", blocks+napService))
	if out, err := fencer("apply", "-auto-approve"); err != nil || !strings.Contains(out, "systemd reloaded") {
		t.Fatalf("fencer apply: %v\n%s", err, out)
	}
	h := f.Hosts[0]
	if out, err := h.Exec(fleettest.AsRoot, "systemctl", "--user", "start", "nap.service"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := fencer("verify")
	if err != nil || !strings.Contains(out, `host "h1": in sync`) {
		t.Errorf("fencer verify: %v\n%s", err, out)
	}
	if out, err := fencer("destroy", "-auto-approve"); err != nil || !strings.Contains(out, "Destroy complete!") {
		t.Errorf("fencer destroy: %v\n%s", err, out)
	}
	if out, err := h.Exec(fleettest.AsRoot, "systemctl", "--user", "is-active", "nap.service"); strings.TrimSpace(string(out)) != "inactive" {
		t.Errorf("after destroy, nap.service (whose unit file was fencer's) is %q, %v", out, err)
	}
}

// TestFleetOneDown applies to three hosts over SSH with one down: the
// two others are applied, the down one is reported as unreachable, and
// the exit code says a host failed; once it is up, the next apply
// converges it.
func TestFleetOneDown(t *testing.T) {
	f := fleettest.Start(t, fleettest.Options{Hosts: 3, Become: []int{0}, PlainSudo: true})
	testLoaders(t)
	blocks, err := f.HostBlocks(fleettest.HCLOptions{Attrs: map[string]string{"connect_timeout": `"2s"`}})
	if err != nil {
		t.Fatal(err)
	}
	fencer := fencerIn(t, configDir(t, "three", blocks+napService))
	if err := f.Hosts[2].Down(); err != nil {
		t.Fatal(err)
	}
	out, err := fencer("apply", "-auto-approve")
	if err == nil || !strings.Contains(out, "h3  -") || !strings.Contains(out, "failed: not planned: host h3: host unreachable") || !strings.Contains(out, "1 of 3 hosts failed.") {
		t.Errorf("fencer apply with h3 down: %v\n%s", err, out)
	}
	for _, h := range f.Hosts[:2] {
		home := f.Home
		if h.Become {
			home = "/root"
		}
		p, err := h.Path(home + "/.config/systemd/user/nap.service")
		if err == nil {
			_, err = os.Stat(p)
		}
		if err != nil {
			t.Errorf("host %s not applied: %v", h.Name, err)
		}
	}
	if err := f.Hosts[2].Up(); err != nil {
		t.Fatal(err)
	}
	if out, err := fencer("apply", "-auto-approve"); err != nil {
		t.Errorf("fencer apply with every host up: %v\n%s", err, out)
	}
	if out, err := fencer("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("fencer plan after converging: %v\n%s", err, out)
	}
}

// napService is the service the fleet tests apply: a unit of its own,
// sleeping, whose filter logs what it does not allow.
const napService = `service "nap" {
  unit           = "nap.service"
  unit_file      = "[Service]\nExecStart=/bin/sleep 1000\n"
  default_action = log
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`
