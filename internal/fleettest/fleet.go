// Package fleettest simulates a fleet of hosts on this machine for the
// tests of fencer's SSH transport and fleet commands (issue 9).
//
// Each host is a real sshd (Debian's openssh-server) listening on
// 127.0.0.1 with a port of its own, in a mount namespace of its own where
// it has a private /run (a tmpfs: /run/systemd/system, /run/user/UID,
// /run/user/0, /run/sshd), a private /etc/systemd and /usr/local (overlays
// of this machine's, whose changes land in the host's directory), and
// private bind mounts on the login user's HOME, /root, /etc/sudoers.d and
// /tmp. The rest (/var, the rest of /etc, /usr) is this machine's.
// Every session sshd starts sees that view, and the network stays shared.
// In the namespace runs a `systemd --user` for the login user (in a cgroup
// delegated to it) and, on the hosts that allow sudo without a password,
// one for root (HOME=/root, XDG_RUNTIME_DIR=/run/user/0).
//
// The login user is a dedicated non-root account, fencer-fleet (created
// when absent, password field "*" so that sshd without PAM lets it log in
// by key), whose HOME differs on every host. The controller under test
// connects to a TCP proxy in front of each sshd (Host.Port), which lets a
// test cut every live connection at once (Host.CutConnections); Host.Down
// stops a host altogether and Host.Up boots it again with its files.
//
// Scopes: every host offers scope "user" as the login user (its manager
// at /run/user/UID); a become host (Options.Become) also offers scope
// "user" as root through `sudo -n` — sudo there sets XDG_RUNTIME_DIR to
// /run/user/0 (a sudoers env_file; not with Options.PlainSudo), so `sudo
// -n systemctl --user ...` reaches root's manager. There is no system manager: systemd is not PID
// 1 here.
//
// Start needs root; without it the test is skipped, except under CI=true
// where it fails. Everything a fleet starts is killed through its cgroups
// and everything it made is removed when the test ends. Five hosts start
// in about 0.5 s and stop in about 0.2 s here.
//
// Writing fleet tests with it:
//
//   - Fleet.HostBlocks writes the configuration's host blocks (see
//     HCLOptions); Fleet.SSH runs the system ssh client on a host.
//   - /tmp is private to each host: t.TempDir() and os.MkdirTemp("", ...)
//     on this machine are not seen on the hosts. Install what a service
//     runs (the metrics example's server) on each host with
//     Host.WriteFile, in the host's /usr/local (readable by everyone
//     there), and give services a log file in the HOME of the account
//     whose manager runs them (Fleet.Home, or /root on a become host):
//     /var/log is this machine's, and the login user cannot write it.
//   - For pull mode, run fencer on a host with Host.Command; the
//     configuration must be on the host (Host.WriteFile) or in a
//     directory of /var/tmp, which hosts share with this machine.
//   - A service's port: Host.ServicePort(i), a different port for each
//     service on each host (the network is shared).
//   - /run is a tmpfs, so XDG_RUNTIME_DIR (where fencer's user-scope lock
//     is) starts empty after Host.Down and Host.Up, as after a reboot;
//     the files in the host's trees stay.
//   - Host.Path reads and writes a host's files from here; Host.Exec runs
//     commands there (systemctl --user, as the login user or root).
package fleettest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// LoginUser is the account tests log in as on every host.
const LoginUser = "fencer-fleet"

// Options say what fleet Start makes.
type Options struct {
	// Hosts is how many hosts; 5 when 0.
	Hosts int
	// Become lists the indexes of the hosts where the login user may sudo
	// without a password and root has a user manager; nil means host 0
	// only, an empty list none. On the other hosts sudo wants a password.
	Become []int
	// PlainSudo leaves sudo's environment as Debian's default has it on
	// the become hosts: without XDG_RUNTIME_DIR for root, so that
	// `sudo -n systemctl --user` does not find root's manager, as on a
	// real host; `sudo -n env XDG_RUNTIME_DIR=/run/user/0 systemctl
	// --user` does. Otherwise sudo sets it (a sudoers env_file).
	PlainSudo bool
}

// Fleet is a set of simulated hosts and what a client needs to reach
// them.
type Fleet struct {
	// Dir holds the keys, known_hosts and each host's directory.
	Dir string
	// User is the login user, UID and GID its ids, and Home its HOME on
	// every host (a different directory on each).
	User     string
	UID, GID int
	Home     string
	// Identity is the client's private key (ed25519, no passphrase),
	// authorized on every host; Identity+".pub" is its public key.
	Identity string
	// KnownHosts has every host's key, "[127.0.0.1]:PORT ssh-ed25519 ...".
	KnownHosts string
	// Hosts are the hosts, Hosts[i].Name being "h<i+1>".
	Hosts []*Host
	// Startup is how long Start took to have every host ready, Shutdown
	// how long Stop took (zero until it ran).
	Startup, Shutdown time.Duration

	stopOnce sync.Once
	stopErr  error
	agentsMu sync.Mutex
	agents   []*agent
	portsMu  sync.Mutex
	ports    map[int]bool // the hosts' ports, sshd's and services'

}

// Start starts a fleet for the test and stops it when the test ends. It
// skips the test when not root (fails it under CI=true) and fails it when
// a host does not come up.
func Start(t testing.TB, opts Options) *Fleet {
	t.Helper()
	if reason := unavailable(); reason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fleettest: cannot simulate hosts (CI=true, so this fails instead of skipping): %s", reason)
		}
		t.Skipf("fleettest: cannot simulate hosts: %s", reason)
	}
	f, err := start(opts)
	if f != nil {
		t.Cleanup(func() {
			if err := f.Stop(); err != nil {
				t.Errorf("stopping the fleet: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("starting the fleet: %v", err)
	}
	return f
}

// New starts a fleet outside a test, for a command that keeps hosts up
// (internal/fleettest/cmd/fleet-up): as Start, but the caller stops it
// (Stop), and when hosts cannot be simulated here it is an error. A
// fleet that fails to start is stopped.
func New(opts Options) (*Fleet, error) {
	if reason := unavailable(); reason != "" {
		return nil, fmt.Errorf("fleettest: cannot simulate hosts: %s", reason)
	}
	f, err := start(opts)
	if err != nil && f != nil {
		err = errors.Join(err, f.Stop())
		f = nil
	}
	return f, err
}

// unavailable says why hosts cannot be simulated here, "" when they can.
func unavailable() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	for _, p := range []string{sshdPath, usermanager.Binary, "/usr/bin/ssh-keygen", "/usr/bin/sudo", "/usr/bin/nsenter", "/usr/bin/setpriv"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Sprintf("%v (.ci/run installs openssh-server, sudo and systemd)", err)
		}
	}
	return ""
}

func start(opts Options) (*Fleet, error) {
	began := time.Now()
	n := opts.Hosts
	if n == 0 {
		n = 5
	}
	become := opts.Become
	if become == nil {
		become = []int{0}
	}
	acct, err := loginUser(LoginUser)
	if err != nil {
		return nil, err
	}
	// Not in /tmp: the hosts have their own /tmp, and sshd must see its
	// directory (it reads its host key for every connection).
	dir, err := os.MkdirTemp("/var/tmp", "fleet")
	if err != nil {
		return nil, err
	}
	f := &Fleet{Dir: dir, User: acct.name, UID: acct.uid, GID: acct.gid, Home: acct.home,
		Identity: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"), ports: map[int]bool{}}
	if err := keygen(f.Identity, "fencer-fleettest client"); err != nil {
		return f, err
	}
	for i := 0; i < n; i++ {
		h, err := f.newHost(i)
		if err != nil {
			return f, err
		}
		f.Hosts = append(f.Hosts, h)
	}
	for _, i := range become {
		if i < 0 || i >= n {
			return f, fmt.Errorf("fleettest: Become lists host %d of %d", i, n)
		}
		f.Hosts[i].Become = true
		f.Hosts[i].plainSudo = opts.PlainSudo
	}
	err = f.each(func(h *Host) error {
		if err := h.prepare(); err != nil {
			return err
		}
		return h.Up()
	})
	if err != nil {
		return f, err
	}
	if err := f.writeKnownHosts(f.KnownHosts, nil, nil); err != nil {
		return f, err
	}
	f.Startup = time.Since(began)
	return f, nil
}

// each runs fn on every host at once and joins the errors.
func (f *Fleet) each(fn func(*Host) error) error {
	errs := make([]error, len(f.Hosts))
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(h)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stop stops the agents (Agent), every host and its proxy (Host.Down),
// checks that nothing of the fleet is left (Leftovers) and removes its
// directory. Stopping again does nothing and returns the first call's
// error.
func (f *Fleet) Stop() error {
	f.stopOnce.Do(func() {
		began := time.Now()
		f.stopAgents()
		err := f.each((*Host).Down)
		if lerr := f.Leftovers(); lerr != nil {
			err = errors.Join(err, lerr)
		}
		if rerr := os.RemoveAll(f.Dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
		f.Shutdown = time.Since(began)
		f.stopErr = err
	})
	return f.stopErr
}

// Leftovers reports what of the fleet's stopped hosts is still on this
// machine: a cgroup, or a mount namespace (this process's included) that
// has a mount of the fleet's directories, with the live processes in it.
// Processes that died but wait to be reaped (zombies) do not count: they
// hold no namespace.
func (f *Fleet) Leftovers() error {
	var problems []string
	for _, h := range f.Hosts {
		if dirs := h.cgroupDirs(); len(dirs) > 0 {
			problems = append(problems, fmt.Sprintf("host %s: cgroups %s", h.Name, strings.Join(dirs, ", ")))
		}
	}
	// Every process's mount namespace, and the processes in each.
	members := map[string][]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/mnt")
	for _, p := range procs {
		if ns, err := os.Readlink(p); err == nil {
			members[ns] = append(members[ns], strings.Split(p, "/")[2])
		}
	}
	for _, pids := range members {
		mounts, err := os.ReadFile("/proc/" + pids[0] + "/mountinfo")
		if err != nil || !bytes.Contains(mounts, []byte(f.Dir+"/")) {
			continue
		}
		var who []string
		for _, pid := range pids {
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			who = append(who, fmt.Sprintf("%s (%s)", pid, bytes.TrimSpace(comm)))
		}
		problems = append(problems, "a mount namespace with the fleet's mounts, of pids "+strings.Join(who, ", "))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("fleettest: left behind:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

// SSH returns an ssh command (OpenSSH's client) that runs args on host h
// as the login user, with the fleet's key and known_hosts, no agent, no
// configuration file and a 10-second connect timeout.
func (f *Fleet) SSH(h *Host, args ...string) *exec.Cmd {
	base := []string{"-F", "none", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + f.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"-i", f.Identity, "-p", fmt.Sprint(h.Port), "-l", f.User, h.Address, "--"}
	return exec.Command("ssh", append(base, args...)...)
}
