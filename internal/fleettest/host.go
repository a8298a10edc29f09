package fleettest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// sshdPath is Debian's sshd.
const sshdPath = "/usr/sbin/sshd"

// Host is one simulated host.
type Host struct {
	// Name is "h1", "h2", ...; Index its place in Fleet.Hosts.
	Name  string
	Index int
	// Address and Port are where a client connects: the proxy in front
	// of the host's sshd.
	Address string
	Port    int
	// SSHDPort is sshd's own port (no proxy); Up changes it when another
	// program took it while the host was down.
	SSHDPort int
	// Become is true on a host where the login user may sudo without a
	// password and root has a user manager.
	Become    bool
	plainSudo bool // Options.PlainSudo
	// Dir is the host's directory on this machine: its overlays' upper
	// directories, HOME, /root, /etc/sudoers.d, /tmp, sshd's
	// configuration and host key, and the logs.
	Dir string
	// HostKey is the host's public key, "ssh-ed25519 AAAA...".
	HostKey string

	fleet *Fleet
	proxy *proxy

	mu     sync.Mutex
	cmd    *exec.Cmd     // sh, then sshd, in the host's namespace
	done   chan struct{} // closed when cmd has exited
	cgroup usermanager.Cgroup
	ports  []int // ServicePort's, under fleet.portsMu
}

// Account is whom a command runs as on a host.
type Account int

// The accounts Host.Command runs commands as.
const (
	AsUser Account = iota // the login user, with its HOME and XDG_RUNTIME_DIR
	AsRoot                // root, HOME=/root, XDG_RUNTIME_DIR=/run/user/0
)

// newHost makes host i's record, its proxy's listener and sshd's port.
// The hosts are made one after the other.
func (f *Fleet) newHost(i int) (*Host, error) {
	h := &Host{Name: fmt.Sprintf("h%d", i+1), Index: i, Address: "127.0.0.1", fleet: f,
		Dir: filepath.Join(f.Dir, fmt.Sprintf("h%d", i+1))}
	// The proxy listens from now on: its port cannot be sshd's.
	h.proxy = &proxy{}
	if err := h.proxy.listen(net.JoinHostPort(h.Address, "0")); err != nil {
		return nil, err
	}
	h.Port = h.proxy.port()
	f.ports[h.Port] = true
	for h.SSHDPort == 0 || f.ports[h.SSHDPort] {
		var err error
		if h.SSHDPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	f.ports[h.SSHDPort] = true
	h.proxy.setBackend(net.JoinHostPort(h.Address, strconv.Itoa(h.SSHDPort)))
	return h, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("fleettest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ServicePort returns the i-th port (from 0) for a service on h: a port
// nothing listened on when first asked, different for each host and
// each i and from the hosts' own, the same on every call. It panics when
// this machine has no free port.
func (h *Host) ServicePort(i int) int {
	f := h.fleet
	f.portsMu.Lock()
	defer f.portsMu.Unlock()
	for len(h.ports) <= i {
		p, err := freePort()
		if err != nil {
			panic(err)
		}
		if !f.ports[p] {
			f.ports[p] = true
			h.ports = append(h.ports, p)
		}
	}
	return h.ports[i]
}

// PID is the pid of the host's sshd (the first process of its mount
// namespace), 0 while the host is down.
func (h *Host) PID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Up boots the host: its mount namespace, its user managers and sshd,
// and its proxy; it returns when sshd listens and the managers accept
// connections. Files written before a Down are still there; /run is
// new, as after a reboot. Up on a running host does nothing.
func (h *Host) Up() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		return nil
	}
	for attempt := 1; ; attempt++ {
		mark := h.logSize()
		err := h.boot()
		if err == nil {
			break
		}
		h.halt()
		// Another program took sshd's port since it was chosen: choose
		// another (the proxy's port, the one clients know, stays).
		if attempt < 3 && strings.Contains(h.logSince(mark), "Address already in use") {
			if err := h.moveSSHD(); err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
			continue
		}
		return fmt.Errorf("host %s: %w\n%s", h.Name, err, h.Log())
	}
	if err := h.proxy.listen(net.JoinHostPort(h.Address, strconv.Itoa(h.Port))); err != nil {
		h.halt()
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// Down makes the host unreachable as a crash would: the proxy stops
// listening (connecting is refused) and drops every connection, and
// every process of the host (sshd, its sessions, the managers and their
// services) is killed. Down on a stopped host does nothing.
func (h *Host) Down() error {
	h.proxy.stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.halt()
}

// halt kills the host's processes and removes its cgroups.
func (h *Host) halt() error {
	if h.cmd == nil && h.cgroup == nil {
		return nil
	}
	if h.cmd != nil {
		// The boot script or sshd: the first process of the namespace.
		_ = h.cmd.Process.Kill()
	}
	err := h.cgroup.Kill()
	if h.cmd != nil {
		// sshd left its cgroup when it died; it is this process's child.
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, fmt.Errorf("sshd (pid %d) did not exit after SIGKILL", h.cmd.Process.Pid))
		}
	}
	if left := h.cgroup.Remove(); len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("cgroups still in use: %s", strings.Join(left, ", ")))
	}
	h.cmd, h.cgroup = nil, nil
	if err != nil {
		return fmt.Errorf("host %s: stopping: %w", h.Name, err)
	}
	return nil
}

// cgroupDirs lists the host's cgroup directories that exist.
func (h *Host) cgroupDirs() []string {
	var dirs []string
	for _, d := range h.cgroupNames() {
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// cgroupNames are where the host's cgroup is in every hierarchy.
func (h *Host) cgroupNames() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + h.cgroupName())
	return append(dirs, "/sys/fs/cgroup/"+h.cgroupName())
}

// cgroupName is the name of the host's cgroup, unique on this machine.
func (h *Host) cgroupName() string {
	return "fencer-" + filepath.Base(h.fleet.Dir) + "-" + h.Name
}

// CutConnections closes every connection through the host's proxy at
// once, both ways, as a network failure would, and returns how many
// there were. The host keeps running and accepts new connections.
func (h *Host) CutConnections() int { return h.proxy.cut() }

// Stall makes the host accept connections and never answer (on), as a
// host behind a firewall that drops packets or a hung machine would, for
// the connect timeout; Stall(false) ends that for new connections
// (CutConnections drops the held ones).
func (h *Host) Stall(on bool) { h.proxy.stall(on) }

// Connections is how many client connections the proxy holds now.
func (h *Host) Connections() int { return h.proxy.count() }

// Command returns a command that runs name with args in the host's mount
// namespace as as (nsenter), in its HOME, with the environment a session
// of that account has: HOME, USER, LOGNAME, PATH, and XDG_RUNTIME_DIR,
// which is where that account's user manager listens. It fails when the
// host is down.
func (h *Host) Command(as Account, name string, args ...string) (*exec.Cmd, error) {
	pid := h.PID()
	if pid == 0 {
		return nil, fmt.Errorf("host %s is down", h.Name)
	}
	return h.commandIn(pid, as, name, args...), nil
}

// commandIn is Command in the mount namespace of pid.
func (h *Host) commandIn(pid int, as Account, name string, args ...string) *exec.Cmd {
	f := h.fleet
	ns := []string{"-t", strconv.Itoa(pid), "-m"}
	env := []string{"LC_ALL=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	switch as {
	case AsRoot:
		ns = append(ns, "--wd=/root")
		env = append(env, "HOME=/root", "USER=root", "LOGNAME=root", "XDG_RUNTIME_DIR=/run/user/0")
	default:
		ns = append(ns, "-S", strconv.Itoa(f.UID), "-G", strconv.Itoa(f.GID), "--wd="+f.Home)
		env = append(env, "HOME="+f.Home, "USER="+f.User, "LOGNAME="+f.User, fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", f.UID))
	}
	cmd := exec.Command("nsenter", append(append(ns, "--", name), args...)...)
	cmd.Env = env
	return cmd
}

// Exec runs a command on the host as Command does and returns its
// standard output; the error names the host and carries standard error.
func (h *Host) Exec(as Account, name string, args ...string) ([]byte, error) {
	cmd, err := h.Command(as, name, args...)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("host %s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Path returns where the host's path p (absolute) is on this machine.
// While the host is up it is p seen through the host's mount namespace
// (/proc/PID/root/p): reading and writing there is reading and writing
// the host's file. While it is down it is the host's own copy of p, for
// the trees the host has its own of (/etc/systemd and /usr/local: the
// files written on the host only; HOME, /root, /etc/sudoers.d, /tmp),
// and an error for any other path.
func (h *Host) Path(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("host %s: path %q is not absolute", h.Name, p)
	}
	p = filepath.Clean(p)
	if pid := h.PID(); pid != 0 {
		return fmt.Sprintf("/proc/%d/root%s", pid, p), nil
	}
	for _, t := range h.trees() {
		if rel, err := filepath.Rel(t.at, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return filepath.Join(t.dir, rel), nil
		}
	}
	return "", fmt.Errorf("host %s is down, and %s is not in a tree it has its own copy of", h.Name, p)
}

// WriteFile writes a file on the host (through Path), owned by as's
// account, creating the directories it needs (owned by the same).
func (h *Host) WriteFile(as Account, p string, data []byte, mode os.FileMode) error {
	real, err := h.Path(p)
	if err != nil {
		return err
	}
	uid, gid := 0, 0
	if as == AsUser {
		uid, gid = h.fleet.UID, h.fleet.GID
	}
	var made []string
	for d := filepath.Dir(real); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	for _, d := range made {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if err := os.WriteFile(real, data, mode); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := os.Chmod(real, mode); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := os.Chown(real, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// logSize is how long the host's log is now.
func (h *Host) logSize() int64 {
	st, err := os.Stat(filepath.Join(h.Dir, "host.log"))
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns what the host's log has after its first n bytes.
func (h *Host) logSince(n int64) string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "host.log"))
	if int64(len(b)) < n {
		return ""
	}
	return string(b[n:])
}

// moveSSHD gives sshd a new port. h.mu is held.
func (h *Host) moveSSHD() error {
	f := h.fleet
	f.portsMu.Lock()
	for f.ports[h.SSHDPort] {
		p, err := freePort()
		if err != nil {
			f.portsMu.Unlock()
			return err
		}
		h.SSHDPort = p
	}
	f.ports[h.SSHDPort] = true
	f.portsMu.Unlock()
	h.proxy.setBackend(net.JoinHostPort(h.Address, strconv.Itoa(h.SSHDPort)))
	return os.WriteFile(filepath.Join(h.Dir, "sshd_config"), []byte(h.sshdConfig()), 0o644)
}

// Log returns what the host's boot script, sshd and user managers wrote.
func (h *Host) Log() string {
	var b strings.Builder
	for _, name := range []string{"host.log", "user-manager.log", "root-manager.log"} {
		data, err := os.ReadFile(filepath.Join(h.Dir, name))
		if err == nil {
			fmt.Fprintf(&b, "--- %s %s\n%s", h.Name, name, data)
		}
	}
	return b.String()
}

// sysProcAttr puts the boot script in a new mount namespace (Go makes /
// private in it, recursively, so no mount propagates to this machine)
// and kills it, hence sshd, if this process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
}

// CPUTime is the CPU time the host's processes have used since it came
// up — sshd, its sessions and what they run, the user managers and their
// services — from its cgroup's cpu.stat (cgroup v2); 0 when the host is
// down or the machine has no cgroup v2 hierarchy.
func (h *Host) CPUTime() time.Duration {
	h.mu.Lock()
	dirs := h.cgroup
	h.mu.Unlock()
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cpu.stat"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return time.Duration(n) * time.Microsecond
			}
		}
	}
	return 0
}
