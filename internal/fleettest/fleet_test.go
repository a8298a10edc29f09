package fleettest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// run runs cmd (30 seconds at most) and returns its standard output and
// standard error, and its error.
func run(cmd *exec.Cmd) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	return o.String(), e.String(), err
}

// onEach runs fn on every host at once, as a subtest per host.
func onEach(t *testing.T, f *Fleet, fn func(t *testing.T, h *Host)) {
	t.Helper()
	for _, h := range f.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, h)
		})
	}
}

// TestFleet starts five hosts and checks each property the fleet tests
// rely on, on the same fleet.
func TestFleet(t *testing.T) {
	f := Start(t, Options{})
	t.Logf("5 hosts up in %s", f.Startup.Round(time.Millisecond))
	if len(f.Hosts) != 5 {
		t.Fatalf("%d hosts, want 5", len(f.Hosts))
	}
	t.Run("ssh", func(t *testing.T) { testSSH(t, f) })
	t.Run("private", func(t *testing.T) { testPrivate(t, f) })
	t.Run("sudo", func(t *testing.T) { testSudo(t, f) })
	t.Run("hostkeys", func(t *testing.T) { testHostKeys(t, f) })
	t.Run("bastion", func(t *testing.T) { testBastion(t, f) })
	t.Run("cut", func(t *testing.T) { testCut(t, f) })
	t.Run("down", func(t *testing.T) { testDown(t, f) })
	t.Run("ports", func(t *testing.T) { testPorts(t, f) })
	t.Run("stall", func(t *testing.T) { testStall(t, f) })
	t.Run("identity", func(t *testing.T) { testIdentity(t, f) })
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("5 hosts stopped in %s", f.Shutdown.Round(time.Millisecond))
}

// testSSH: the system ssh client logs in to every host as the login
// user, whose session reaches its running user manager.
func testSSH(t *testing.T, f *Fleet) {
	onEach(t, f, func(t *testing.T, h *Host) {
		out, stderr, err := run(f.SSH(h, "id -un; echo $HOME; systemctl --user is-system-running; systemctl --user show-environment"))
		if err != nil {
			t.Fatalf("ssh: %v\n%s\n%s", err, stderr, h.Log())
		}
		lines := strings.Split(out, "\n")
		if lines[0] != f.User || lines[1] != f.Home || lines[2] != "running" {
			t.Errorf("user, HOME and manager state: %q, want %s, %s, running", lines[:3], f.User, f.Home)
		}
		if want := fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d\n", f.UID); !strings.Contains(out, want) {
			t.Errorf("the manager's environment lacks %s:\n%s", want, out)
		}
		state, err := h.Exec(AsUser, "systemctl", "--user", "is-system-running")
		if err != nil || strings.TrimSpace(string(state)) != "running" {
			t.Errorf("Exec as the user: %q, %v", state, err)
		}
	})
}

// testPrivate: a file written on h1 in /etc/systemd, /usr/local/bin,
// HOME, /root, /etc/sudoers.d, /run and /tmp is on h1 only, not on h2 nor on this
// machine; and Path finds it, up or down.
func testPrivate(t *testing.T, f *Fleet) {
	h1, h2 := f.Hosts[0], f.Hosts[1]
	name := "probe." + filepath.Base(f.Dir) // a dot: sudo does not read it as rules
	dirs := []string{"/etc/systemd", "/usr/local/bin", f.Home, "/root", "/etc/sudoers.d", "/run", "/tmp"}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := h1.Exec(AsRoot, "sh", "-c", "echo on-h1 >"+p); err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(mustPath(t, h1, p)); err != nil || string(data) != "on-h1\n" {
			t.Errorf("h1's %s through Path: %q, %v", p, data, err)
		}
		if out, err := h2.Exec(AsRoot, "sh", "-c", "test ! -e "+p+" && echo absent"); err != nil || string(out) != "absent\n" {
			t.Errorf("h2 sees h1's %s: %q, %v", p, out, err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("this machine sees h1's %s: %v", p, err)
		}
	}
	// The login user's HOME is its own on each host, and it can write
	// there and to its fencer_path's directory.
	out, stderr, err := run(f.SSH(h1, "mkdir -p .local/bin && echo mine >.local/bin/probe && cat "+f.Home+"/.local/bin/probe"))
	if err != nil || out != "mine\n" {
		t.Errorf("the login user writing its HOME on h1: %q, %v, %s", out, err, stderr)
	}
	if out, _, err := run(f.SSH(h2, "test -e .local/bin/probe || echo absent")); err != nil || out != "absent\n" {
		t.Errorf("h2's HOME has h1's file: %q, %v", out, err)
	}
	if err := h1.WriteFile(AsUser, filepath.Join(h1.FencerPath(false)+".d", "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := h1.Exec(AsUser, "stat", "-c", "%U %a", h1.FencerPath(false)+".d/x"); err != nil || string(out) != f.User+" 644\n" {
		t.Errorf("WriteFile as the user: %q, %v", out, err)
	}
}

func mustPath(t *testing.T, h *Host, p string) string {
	t.Helper()
	real, err := h.Path(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// testSudo: on the become host sudo -n works and reaches root's user
// manager; elsewhere it fails with "a password is required".
func testSudo(t *testing.T, f *Fleet) {
	onEach(t, f, func(t *testing.T, h *Host) {
		out, stderr, err := run(f.SSH(h, "sudo -n id -u && sudo -n systemctl --user is-system-running"))
		if h.Become {
			if err != nil || out != "0\nrunning\n" {
				t.Errorf("sudo -n on the become host: %q, %v, %s\n%s", out, err, stderr, h.Log())
			}
			if state, err := h.Exec(AsRoot, "systemctl", "--user", "is-system-running"); err != nil || string(state) != "running\n" {
				t.Errorf("Exec as root: %q, %v", state, err)
			}
			return
		}
		if err == nil || !strings.Contains(stderr, "a password is required") {
			t.Errorf("sudo -n where it wants a password: %q, %v, %q; want it to fail with \"a password is required\"", out, err, stderr)
		}
	})
	if !f.Hosts[0].Become || f.Hosts[1].Become {
		t.Errorf("Options{} makes h1 only the become host")
	}
}

// testHostKeys: a known_hosts file with a wrong key for h2 makes ssh
// refuse h2 and accept h1; one without h2 makes ssh refuse h2 as unknown.
func testHostKeys(t *testing.T, f *Fleet) {
	h1, h2 := f.Hosts[0], f.Hosts[1]
	wrong, err := f.WrongKnownHosts("known_hosts.wrong", h2)
	if err != nil {
		t.Fatal(err)
	}
	without, err := f.KnownHostsWithout("known_hosts.without", h2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, want string
	}{{wrong, "REMOTE HOST IDENTIFICATION HAS CHANGED"}, {without, "No ED25519 host key is known"}} {
		ssh := func(h *Host) *exec.Cmd {
			cmd := f.SSH(h, "true")
			cmd.Args = append([]string{cmd.Args[0], "-o", "UserKnownHostsFile=" + c.file, "-o", "LogLevel=INFO"}, cmd.Args[1:]...)
			return cmd
		}
		if _, stderr, err := run(ssh(h2)); err == nil || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "Host key verification failed") {
			t.Errorf("ssh to h2 with %s: %v, %q; want a refusal saying %q", filepath.Base(c.file), err, stderr, c.want)
		}
		if _, stderr, err := run(ssh(h1)); err != nil {
			t.Errorf("ssh to h1 with %s: %v, %s", filepath.Base(c.file), err, stderr)
		}
	}
}

// testBastion: ssh reaches h3 by jumping through h2 (its sshd forwards
// the connection to h3's port).
func testBastion(t *testing.T, f *Fleet) {
	jump, target := f.Hosts[1], f.Hosts[2]
	inner := f.SSH(jump)
	proxy := append(inner.Args[:len(inner.Args)-1:len(inner.Args)-1], "-W", "%h:%p")
	cmd := f.SSH(target, "echo", "via", "bastion")
	cmd.Args = append([]string{cmd.Args[0], "-o", "ProxyCommand=" + strings.Join(proxy, " ")}, cmd.Args[1:]...)
	out, stderr, err := run(cmd)
	if err != nil || out != "via bastion\n" {
		t.Fatalf("ssh through the bastion: %q, %v, %s", out, err, stderr)
	}
}

// testCut: CutConnections drops a live session at once; the host then
// takes new connections.
func testCut(t *testing.T, f *Fleet) {
	h := f.Hosts[3]
	cmd := f.SSH(h, "echo ready; exec sleep 60")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("session: %q, %v, %s", line, err, stderr.String())
	}
	if n := h.Connections(); n != 1 {
		t.Errorf("Connections() = %d during the session, want 1", n)
	}
	began := time.Now()
	if n := h.CutConnections(); n != 1 {
		t.Errorf("CutConnections() = %d, want 1", n)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("ssh exited 0 after its connection was cut")
		}
		t.Logf("ssh ended %s after the cut: %v: %s", time.Since(began).Round(time.Millisecond), err, strings.TrimSpace(stderr.String()))
	case <-time.After(10 * time.Second):
		t.Fatalf("ssh still runs 10s after its connection was cut")
	}
	if out, stderr, err := run(f.SSH(h, "echo", "again")); err != nil || out != "again\n" {
		t.Errorf("ssh after the cut: %q, %v, %s", out, err, stderr)
	}
}

// testDown: a host that is down refuses connections while the others
// work; up again (on another sshd port, its own taken meanwhile), it has
// its files and a running manager.
func testDown(t *testing.T, f *Fleet) {
	h := f.Hosts[4]
	if _, _, err := run(f.SSH(h, "echo kept >kept")); err != nil {
		t.Fatal(err)
	}
	pid := h.PID()
	began := time.Now()
	if err := h.Down(); err != nil {
		t.Fatal(err)
	}
	t.Logf("down in %s", time.Since(began).Round(time.Millisecond))
	if _, stderr, err := run(f.SSH(h, "true")); err == nil || !strings.Contains(stderr, "Connection refused") {
		t.Errorf("ssh to a host that is down: %v, %q; want connection refused", err, stderr)
	}
	if running(pid) {
		t.Errorf("sshd (pid %d) runs after Down", pid)
	}
	if got, err := os.ReadFile(mustPath(t, h, f.Home+"/kept")); err != nil || string(got) != "kept\n" {
		t.Errorf("Path while down: %q, %v", got, err)
	}
	if _, err := h.Path("/etc/passwd"); err == nil {
		t.Errorf("Path of a file the host has no copy of, while down: no error")
	}
	if out, _, err := run(f.SSH(f.Hosts[3], "echo", "up")); err != nil || out != "up\n" {
		t.Errorf("another host while h5 is down: %q, %v", out, err)
	}
	// Another program took sshd's port meanwhile: Up moves sshd, behind
	// the same proxy port.
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", h.SSHDPort))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	sshdPort := h.SSHDPort
	began = time.Now()
	if err := h.Up(); err != nil {
		t.Fatal(err)
	}
	t.Logf("up again in %s", time.Since(began).Round(time.Millisecond))
	if h.SSHDPort == sshdPort {
		t.Errorf("sshd's port %d taken, and Up kept it", sshdPort)
	}
	out, stderr, err := run(f.SSH(h, "cat kept; systemctl --user is-system-running"))
	if err != nil || out != "kept\nrunning\n" {
		t.Errorf("after Up: %q, %v, %s", out, err, stderr)
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	return end > 0 && len(s) > end+2 && s[end+2] != 'Z'
}

// testPorts: every host's service ports differ from each other and from
// the hosts' own, and stay the same; a service on a host can listen on
// its port.
func testPorts(t *testing.T, f *Fleet) {
	seen := map[int]string{}
	for _, h := range f.Hosts {
		seen[h.Port], seen[h.SSHDPort] = h.Name+" proxy", h.Name+" sshd"
	}
	first := map[*Host]int{}
	for _, h := range f.Hosts {
		for i := 0; i < 3; i++ {
			p := h.ServicePort(i)
			if other, dup := seen[p]; dup {
				t.Errorf("%s's ServicePort(%d) = %d, also %s's", h.Name, i, p, other)
			}
			seen[p] = fmt.Sprintf("%s service %d", h.Name, i)
		}
		first[h] = h.ServicePort(0)
	}
	for _, h := range f.Hosts {
		if p := h.ServicePort(0); p != first[h] {
			t.Errorf("%s's ServicePort(0) was %d, now %d", h.Name, first[h], p)
		}
	}
	h := f.Hosts[0]
	port := strconv.Itoa(h.ServicePort(0))
	// A service of the login user's manager listening on the port.
	unit := "[Socket]\nListenStream=127.0.0.1:" + port + "\nAccept=yes\n"
	service := "[Service]\nExecStart=/bin/echo served\nStandardInput=socket\nStandardOutput=socket\n"
	dir := f.Home + "/.config/systemd/user/"
	for name, text := range map[string]string{"probe.socket": unit, "probe@.service": service} {
		if err := h.WriteFile(AsUser, dir+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := h.Exec(AsUser, "systemctl", "--user", "start", "probe.socket"); err != nil {
		t.Fatalf("%s%v", out, err)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "served\n" {
		t.Errorf("the service on ServicePort(0): %q, %v", line, err)
	}
}

// withOptions is cmd (an ssh command) with more options before its own.
func withOptions(cmd *exec.Cmd, opts ...string) *exec.Cmd {
	cmd.Args = append(append([]string{cmd.Args[0]}, opts...), cmd.Args[1:]...)
	return cmd
}

// testStall: a stalled host holds the connection and never answers, so
// ssh gives up at its connect timeout; unstalled, it answers again.
func testStall(t *testing.T, f *Fleet) {
	h := f.Hosts[2]
	h.Stall(true)
	began := time.Now()
	_, stderr, err := run(withOptions(f.SSH(h, "true"), "-o", "ConnectTimeout=1"))
	took := time.Since(began)
	if err == nil || !strings.Contains(stderr, "timed out") || took > 5*time.Second {
		t.Errorf("ssh to a stalled host: %v after %s, %q; want a timeout after about 1s", err, took.Round(time.Millisecond), stderr)
	}
	h.Stall(false)
	h.CutConnections()
	if out, stderr, err := run(f.SSH(h, "echo", "answers")); err != nil || out != "answers\n" {
		t.Errorf("ssh after Stall(false): %q, %v, %s", out, err, stderr)
	}
}

// testIdentity: NewIdentity's keys are authorized on every host, the
// encrypted one once decrypted, and an Agent lends its key to ssh.
func testIdentity(t *testing.T, f *Fleet) {
	plain, err := f.NewIdentity("id_plain", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := f.NewIdentity("id_secret", "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-y", "-P", "", "-f", secret).CombinedOutput(); err == nil {
		t.Errorf("the encrypted key opens without its passphrase: %s", out)
	}
	if out, err := exec.Command("ssh-keygen", "-p", "-P", "open sesame", "-N", "", "-f", secret).CombinedOutput(); err != nil {
		t.Fatalf("decrypting: %v: %s", err, out)
	}
	// An agent holding the new plain key: ssh with no identity file.
	sock, err := f.Agent(plain)
	if err != nil {
		t.Fatal(err)
	}
	cmd := f.SSH(f.Hosts[1], "echo", "by agent")
	var args []string
	for i := 0; i < len(cmd.Args); i++ {
		switch a := cmd.Args[i]; a {
		case "IdentityAgent=none":
			args = append(args, "IdentityAgent="+sock)
		case "IdentitiesOnly=yes":
			args = append(args, "IdentitiesOnly=no")
		case "-i":
			i++ // and the fleet's key
		default:
			args = append(args, a)
		}
	}
	cmd.Args = append(args[:1], append([]string{"-o", "IdentityFile=none"}, args[1:]...)...)
	if out, stderr, err := run(cmd); err != nil || out != "by agent\n" {
		t.Errorf("ssh with the agent: %q, %v, %s", out, err, stderr)
	}
	onEach(t, f, func(t *testing.T, h *Host) {
		for _, key := range []string{plain, secret} {
			cmd := f.SSH(h, "echo", "in")
			for i, a := range cmd.Args {
				if a == f.Identity {
					cmd.Args[i] = key
				}
			}
			if out, stderr, err := run(cmd); err != nil || out != "in\n" {
				t.Errorf("ssh -i %s: %q, %v, %s", filepath.Base(key), out, err, stderr)
			}
		}
	})
}

// TestStopLeavesNothing: a fleet started and stopped leaves no process
// (of those its hosts ran, in their namespaces or cgroups), no mount, no
// cgroup, no listener and no directory. Its become host has PlainSudo.
func TestStopLeavesNothing(t *testing.T) {
	f := Start(t, Options{Hosts: 2, Become: []int{1}, PlainSudo: true})
	// PlainSudo: sudo leaves XDG_RUNTIME_DIR out, as on a real host.
	out, stderr, err := run(f.SSH(f.Hosts[1], "sudo -n systemctl --user is-system-running"))
	if err == nil || !strings.Contains(stderr, "Failed to connect to bus") {
		t.Errorf("plain sudo -n systemctl --user: %q, %v, %q; want no bus", out, err, stderr)
	}
	out, stderr, err = run(f.SSH(f.Hosts[1], "sudo -n env XDG_RUNTIME_DIR=/run/user/0 systemctl --user is-system-running"))
	if err != nil || out != "running\n" {
		t.Errorf("sudo -n env XDG_RUNTIME_DIR=/run/user/0 systemctl --user: %q, %v, %s", out, err, stderr)
	}
	var pids []int
	var ports []int
	for _, h := range f.Hosts {
		// A session left running, and a service of each manager.
		cmd := f.SSH(h, "sleep 600 </dev/null >/dev/null 2>&1 & echo started")
		if out, stderr, err := run(cmd); err != nil || out != "started\n" {
			t.Fatalf("%q %v %s", out, err, stderr)
		}
		if out, err := h.Exec(AsUser, "systemd-run", "--user", "--unit=probe", "sleep", "600"); err != nil {
			t.Fatalf("%s%v", out, err)
		}
		pids = append(pids, h.cgroup.Procs()...)
		ports = append(ports, h.Port, h.SSHDPort)
	}
	if len(pids) < 2*4 {
		t.Fatalf("pids in the hosts' cgroups: %v; want sshd, its session, 2 managers and their services", pids)
	}
	// What Leftovers finds while the hosts run: their cgroups, and their
	// namespaces with sshd, the managers and the session in them.
	err = f.Leftovers()
	for _, want := range []string{"cgroups", "(sshd)", "(systemd)", "(sleep)"} {
		if err == nil || strings.Count(err.Error(), want) < 2 {
			t.Errorf("Leftovers of two running hosts: %v; want %s twice", err, want)
		}
	}
	began := time.Now()
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("2 hosts stopped in %s", time.Since(began).Round(time.Millisecond))
	for _, pid := range pids {
		if running(pid) {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			t.Errorf("pid %d (%s) runs after Stop", pid, bytes.TrimSpace(comm))
		}
	}
	if err := f.Leftovers(); err != nil {
		t.Error(err)
	}
	for _, h := range f.Hosts {
		if dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + h.cgroupName()); len(dirs) > 0 {
			t.Errorf("cgroups left: %v", dirs)
		}
	}
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts connections", p)
		}
	}
	if _, err := os.Stat(f.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Stop: %v", f.Dir, err)
	}
}

// TestHostBlocks: the host blocks are HCL with the attributes the SSH
// transport reads, per host.
func TestHostBlocks(t *testing.T) {
	f := &Fleet{Dir: "/tmp/fleetX", User: LoginUser, UID: 1001, Home: "/home/" + LoginUser,
		Identity: "/tmp/fleetX/id_ed25519", KnownHosts: "/tmp/fleetX/known_hosts"}
	for i, port := range []int{4001, 4002} {
		f.Hosts = append(f.Hosts, &Host{Name: fmt.Sprintf("h%d", i+1), Address: "127.0.0.1", Port: port, Become: i == 0, fleet: f})
	}
	text, err := f.HostBlocks(HCLOptions{Bastion: map[string]string{"h2": "h1"}, Attrs: map[string]string{"connect_timeout": `"5s"`}})
	if err != nil {
		t.Fatal(err)
	}
	want := `host "h1" {
  address          = "127.0.0.1"
  port             = 4001
  user             = "fencer-fleet"
  identity_file    = "/tmp/fleetX/id_ed25519"
  known_hosts_file = "/tmp/fleetX/known_hosts"
  scope            = "user"
  fencer_path      = "/usr/local/bin/fencer"
  become           = "sudo"
  connect_timeout  = "5s"
}

host "h2" {
  address          = "127.0.0.1"
  port             = 4002
  user             = "fencer-fleet"
  identity_file    = "/tmp/fleetX/id_ed25519"
  known_hosts_file = "/tmp/fleetX/known_hosts"
  scope            = "user"
  fencer_path      = "/home/fencer-fleet/.local/bin/fencer"
  bastion          = "fencer-fleet@127.0.0.1:4001"
  connect_timeout  = "5s"
}

`
	if text != want {
		t.Errorf("HostBlocks:\n%s\nwant:\n%s", text, want)
	}
	if _, diags := hclsyntax.ParseConfig([]byte(text), "hosts.fencer.hcl", hcl.InitialPos); diags.HasErrors() {
		t.Errorf("HostBlocks is not HCL: %v", diags)
	}
	text, err = f.HostBlocks(HCLOptions{Hosts: f.Hosts[:1], NoBecome: true, KnownHosts: "/kh"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "become") || !strings.Contains(text, `"/kh"`) || !strings.Contains(text, "/home/fencer-fleet/.local/bin/fencer") || strings.Contains(text, "h2") {
		t.Errorf("HostBlocks with NoBecome, KnownHosts and Hosts:\n%s", text)
	}
	if _, err := f.HostBlocks(HCLOptions{Bastion: map[string]string{"h2": "h9"}}); err == nil {
		t.Errorf("a bastion naming no host: no error")
	}
}
