package sshhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/loader"
)

func dial(t *testing.T, cfg Config) *Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestDial connects, uploads the agent once, and works on the host's
// files in user scope under the login's HOME.
func TestDial(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	testLoaders(t) // built before the clock starts
	began := time.Now()
	h := dial(t, cfg)
	t.Logf("connected, uploaded fencer and started the agent in %s", time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	if h.Arch() != "x86_64" {
		t.Errorf("Arch = %s", h.Arch())
	}
	bin, _ := cfg.Loaders.For("x86_64")
	sum := plan.Hash(bin.Data)
	if got, err := h.Fencer(ctx); err != nil || got != sum {
		t.Errorf("Fencer = %s, %v; want %s", got, err, sum)
	}
	cached := filepath.Join(d.home, ".cache", "fencer", "fencer-"+sum[:16])
	st, err := os.Stat(cached)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the agent's cache: %v, %v", st, err)
	}
	f, err := h.Facts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != "x86_64" || f.Scope != "user" || f.Paths.UnitDir != filepath.Join(d.home, ".config/systemd/user") {
		t.Errorf("Facts = %+v", f)
	}
	p := filepath.Join(f.Paths.UnitDir, "a.service")
	if err := h.WriteFile(ctx, p, []byte("[Service]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "[Service]\n" {
		t.Errorf("the file on the host: %q, %v", b, err)
	}
	if _, _, err := h.ReadFile(ctx, p+".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	// A second connection finds the agent there, and does not upload it.
	h.Close()
	began = time.Now()
	h2 := dial(t, cfg)
	t.Logf("connected and started the agent (already there) in %s", time.Since(began).Round(time.Millisecond))
	began = time.Now()
	for range 100 {
		if _, _, err := h2.ReadFile(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("100 ReadFile calls in %s", time.Since(began).Round(time.Millisecond))
	if st2, err := os.Stat(cached); err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("the agent was uploaded again: %v, %v", st2, err)
	}
	if _, err := h2.ReadDir(ctx, f.Paths.UnitDir); err != nil {
		t.Error(err)
	}
	// A shell that talks before every command does not get in the way:
	// bash reads ~/.bashrc for a command sshd runs.
	if err := os.WriteFile(filepath.Join(d.home, ".bashrc"), []byte("echo 'Welcome to the host!'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	talking := dial(t, cfg)
	if _, err := talking.ReadDir(ctx, f.Paths.UnitDir); err != nil {
		t.Errorf("with a talking shell: %v", err)
	}
	if out, err := run(ctx, "web", talking.conns[0], time.Minute, "true", nil); err != nil || !strings.Contains(out, "Welcome") {
		t.Errorf("the shell does not talk: %q, %v", out, err)
	}
	// A broken copy in the cache is replaced.
	if err := os.WriteFile(cached+".new", []byte("broken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cached+".new", cached); err != nil {
		t.Fatal(err)
	}
	dial(t, cfg)
	if b, err := os.ReadFile(cached); err != nil || plan.Hash(b) != sum {
		t.Errorf("the broken copy was not replaced: %v", err)
	}
}

// TestHostKeys: an unknown key is refused with its fingerprint and the
// line to add, which works once added; a changed key is refused loudly.
func TestHostKeys(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	cfg.KnownHostsFile = filepath.Join(d.dir, "empty_known_hosts")
	_, err := Dial(context.Background(), cfg)
	fp := ssh.FingerprintSHA256(d.hostKey.PublicKey())
	line := fmt.Sprintf("[127.0.0.1]:%d %s", d.port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.hostKey.PublicKey()))))
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "\n  "+line) || !strings.Contains(err.Error(), "host web") {
		t.Fatalf("unknown key: %v\nwant the fingerprint %s and the line %s", err, fp, line)
	}
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dial(t, cfg).Close()

	other, _ := key(t, filepath.Join(d.dir, "other_key"), "")
	changed := filepath.Join(d.dir, "changed_known_hosts")
	old := knownhosts.Line([]string{fmt.Sprintf("127.0.0.1:%d", d.port)}, other.PublicKey())
	if err := os.WriteFile(changed, []byte("# old\n"+old+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.KnownHostsFile = changed
	_, err = Dial(context.Background(), cfg)
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "HAS CHANGED") || !strings.Contains(err.Error(), fp) ||
		!strings.Contains(err.Error(), ssh.FingerprintSHA256(other.PublicKey())) || !strings.Contains(err.Error(), changed+":2") {
		t.Errorf("changed key: %v", err)
	}
}

// startSSHAgent serves an in-process ssh-agent holding keys on a socket.
func startSSHAgent(t *testing.T, keys ...any) string {
	t.Helper()
	ring := agent.NewKeyring()
	for _, k := range keys {
		if err := ring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	listen(t, "unix", sock, func(c net.Conn) { agent.ServeAgent(ring, c) })
	return sock
}

// TestAuth: an encrypted identity file without an agent is a clear
// error; with an agent that holds its key, the login works, and so it
// does with the agent alone.
func TestAuth(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	cfg.IdentityFile = filepath.Join(d.dir, "id_encrypted")
	signer, priv := key(t, cfg.IdentityFile, "secret")
	d.authorize(t, signer.PublicKey())
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "encrypted with a passphrase") || !strings.Contains(err.Error(), "ssh-add "+cfg.IdentityFile) {
		t.Errorf("encrypted key without an agent: %v", err)
	}
	cfg.AuthSock = startSSHAgent(t, priv)
	dial(t, cfg).Close()
	cfg.IdentityFile = ""
	dial(t, cfg).Close()
	// A key the host does not accept.
	stranger := filepath.Join(d.dir, "id_stranger")
	key(t, stranger, "")
	cfg.AuthSock, cfg.IdentityFile = "", stranger
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "accepts none of fencer's keys") {
		t.Errorf("a key the host refuses: %v", err)
	}
}

// TestBastion reaches the host through a jump host: the same sshd.
func TestBastion(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	cfg.Bastion = fmt.Sprintf("root@127.0.0.1:%d", d.port)
	h := dial(t, cfg)
	if len(h.conns) != 2 {
		t.Errorf("%d connections, want the host's and the bastion's", len(h.conns))
	}
	if _, err := h.Facts(context.Background()); err != nil {
		t.Error(err)
	}
	// The bastion's key is checked too.
	cfg.KnownHostsFile = filepath.Join(d.dir, "none")
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, ErrHostKey) {
		t.Errorf("a bastion of unknown key: %v", err)
	}
}

// proxy forwards one TCP connection to addr until cut.
type proxy struct {
	port int
	mu   sync.Mutex
	open []net.Conn
}

func startProxy(t *testing.T, addr string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &proxy{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.open = append(p.open, c, s)
			p.mu.Unlock()
			go io.Copy(c, s)
			go io.Copy(s, c)
		}
	}()
	return p
}

// cut closes every connection it forwards.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
}

// TestCut: a connection cut in the middle of a call fails it, and every
// later call, with ErrUnreachable; the agent on the host exits and its
// lock is released, so another connection takes it.
func TestCut(t *testing.T) {
	d := startSSHD(t, "")
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", d.port))
	cfg := d.config(t)
	line := knownhosts.Line([]string{fmt.Sprintf("127.0.0.1:%d", p.port)}, d.hostKey.PublicKey())
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(fmt.Sprintf("%s\n%s\n", knownhosts.Line([]string{fmt.Sprintf("127.0.0.1:%d", d.port)}, d.hostKey.PublicKey()), line)), 0o644); err != nil {
		t.Fatal(err)
	}
	direct := cfg
	cfg.Port = p.port
	h := dial(t, cfg)
	ctx := context.Background()
	if _, err := h.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := h.Lock(ctx) // waits: the lock is held
		pending <- err
	}()
	time.Sleep(300 * time.Millisecond)
	p.cut()
	select {
	case err := <-pending:
		if !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "host web") {
			t.Errorf("the call cut off: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call cut off did not return")
	}
	if _, err := h.ReadDir(ctx, "/"); !errors.Is(err, host.ErrUnreachable) {
		t.Errorf("a call after the cut: %v", err)
	}
	h2 := dial(t, direct)
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlock, err := h2.Lock(wait)
	if err != nil {
		t.Fatalf("the lock of the connection cut off is still held: %v", err)
	}
	if err := unlock(); err != nil {
		t.Error(err)
	}
}

// TestKeepalive: a connection that stops answering is closed by the
// keepalives, and the calls fail with ErrUnreachable.
func TestKeepalive(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	cfg.Keepalive = 200 * time.Millisecond
	h := dial(t, cfg)
	// Stop the connection's sshd process: it holds the connection open
	// and answers nothing.
	out, _ := exec.Command("ps", "-o", "pid=", "--ppid", fmt.Sprint(d.cmd.Process.Pid)).Output()
	pids := strings.Fields(string(out))
	if len(pids) == 0 {
		t.Fatal("no sshd session process")
	}
	for _, pid := range pids {
		exec.Command("kill", "-STOP", pid).Run()
		defer exec.Command("kill", "-CONT", pid).Run()
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the keepalives did not notice the connection hang")
	}
	if _, err := h.ReadDir(context.Background(), "/"); !errors.Is(err, host.ErrUnreachable) {
		t.Errorf("a call on a hung connection: %v", err)
	}
}

// TestFencerOverSSH plans, applies, plans again, verifies (in sync, then
// with drift, converged by apply), destroys and applies a saved plan of a
// configuration whose host has an address, with the fencer command: in
// user scope under the login's HOME, the loader there too.
func TestFencerOverSSH(t *testing.T) {
	d := startSSHD(t, "")
	testLoaders(t)
	loaderPath := filepath.Join(d.home, "bin", "fencer")
	conf := fmt.Sprintf(`host "web" {
  address          = "127.0.0.1"
  port             = %d
  user             = "root"
  identity_file    = %q
  known_hosts_file = %q
  scope            = "user"
  fencer_path      = %q
}

service "m" {
  unit      = "m.service"
  unit_file = "[Service]\nExecStart=/usr/bin/true\n"
  hosts     = ["web"]
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`, d.port, d.identity, d.known, loaderPath)
	dir := configDir(t, "fleet", conf)
	fencer := fencerIn(t, dir)
	out, err := fencer("plan")
	if err != nil || !strings.Contains(out, `host "web" (x86_64`) || !strings.Contains(out, "+ "+loaderPath) {
		t.Fatalf("fencer plan: %v\n%s", err, out)
	}
	out, err = fencer("apply", "-auto-approve")
	unit := filepath.Join(d.home, ".config/systemd/user/m.service")
	if err != nil || !strings.Contains(out, "Apply complete! Files: 4 added") {
		t.Fatalf("fencer apply: %v\n%s", err, out)
	}
	for _, p := range []string{unit, filepath.Join(d.home, ".config/systemd/user/m.service.d/zz-fencer.conf"), filepath.Join(d.home, ".config/fencer/filters/m.service.bpf")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after apply: %v", err)
		}
	}
	if b, err := os.ReadFile(loaderPath); err != nil || plan.Hash(b) != plan.Hash(fencerBinary.bin.Data) {
		t.Errorf("the loader on the host: %v", err)
	}
	out, err = fencer("plan", "-detailed-exitcode")
	if err != nil || !strings.Contains(out, "No changes") {
		t.Errorf("fencer plan after apply: %v\n%s", err, out)
	}
	out, err = fencer("verify")
	if err != nil || !strings.Contains(out, `host "web": in sync`) {
		t.Errorf("fencer verify: %v\n%s", err, out)
	}
	// Drift on the host: verify says so (exit 2).
	filter := filepath.Join(d.home, ".config/fencer/filters/m.service.bpf")
	if err := os.Remove(filter); err != nil {
		t.Fatal(err)
	}
	out, err = fencer("verify")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "m.service.bpf") {
		t.Errorf("fencer verify with drift: %v\n%s", err, out)
	}
	if out, err = fencer("apply", "-auto-approve"); err != nil || !strings.Contains(out, "Files: 1 added") {
		t.Fatalf("fencer apply to converge: %v\n%s", err, out)
	}
	out, err = fencer("destroy", "-auto-approve")
	if err != nil || !strings.Contains(out, "Destroy complete!") {
		t.Fatalf("fencer destroy: %v\n%s", err, out)
	}
	if _, err := os.Stat(unit); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after destroy: %v", err)
	}
	// A saved plan reaches the host it was made for.
	if out, err = fencer("plan", "-out=saved.plan"); err != nil {
		t.Fatalf("fencer plan -out: %v\n%s", err, out)
	}
	if out, err = fencer("apply", "saved.plan"); err != nil || !strings.Contains(out, "Apply complete! Files: 3 added") {
		t.Fatalf("fencer apply PLANFILE: %v\n%s", err, out)
	}
	if _, err := os.Stat(unit); err != nil {
		t.Errorf("after apply PLANFILE: %v", err)
	}
}

// testUser makes (once) a login user name, whose password field is '*'
// (sshd without PAM refuses a locked '!' account even by key), with its
// home moved to a new directory of its own.
func testUser(t *testing.T, name string) string {
	t.Helper()
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "-M", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
	}
	home := filepath.Join(openDir(t, "fencer-home"), name)
	if out, err := exec.Command("usermod", "-p", "*", "-d", home, name).CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", name+":", home).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	return home
}

// TestBecome logs in as a user that may run anything with sudo without a
// password: the agent runs as root. A user without that gets the error
// that says what to allow.
func TestBecome(t *testing.T) {
	d := startSSHD(t, "")
	testUser(t, "fencer-sudo")
	testUser(t, "fencer-nosudo")
	testUser(t, "fencer-tty")
	sudoers := "/etc/sudoers.d/fencer-sshhost-test"
	rules := "fencer-sudo ALL=(root) NOPASSWD: ALL\nDefaults:fencer-tty requiretty\nfencer-tty ALL=(root) NOPASSWD: ALL\n"
	if err := os.WriteFile(sudoers, []byte(rules), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sudoers) })
	cfg := d.config(t)
	cfg.User, cfg.Become, cfg.Scope = "fencer-sudo", "sudo", "system"
	h := dial(t, cfg)
	ctx := context.Background()
	// Only root reads /etc/shadow. (Nothing is written: in system scope
	// the agent would write this machine's /etc.)
	if _, _, err := h.FileSum(ctx, "/etc/shadow"); err != nil {
		t.Errorf("the agent under sudo cannot read /etc/shadow: %v", err)
	}
	if f, err := h.Facts(ctx); err != nil || f.Scope != "system" {
		t.Errorf("Facts = %+v, %v", f, err)
	}
	cfg.User = "fencer-nosudo"
	_, err := Dial(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), `become = "sudo": sudo on 127.0.0.1 wants a password for fencer-nosudo`) ||
		!strings.Contains(err.Error(), "NOPASSWD") || !strings.Contains(err.Error(), "log in as root") {
		t.Errorf("sudo wanting a password: %v", err)
	}
	// sudo that wants a terminal says so, and what to allow.
	cfg.User = "fencer-tty"
	_, err = Dial(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "requires a terminal for fencer-tty (requiretty)") || !strings.Contains(err.Error(), "Defaults:fencer-tty !requiretty") {
		t.Errorf("sudo with requiretty: %v", err)
	}
	cfg.User = "fencer-nosudo"
	// Without become, the same user's agent is no root.
	cfg.Become = ""
	h = dial(t, cfg)
	if _, _, err := h.FileSum(ctx, "/etc/shadow"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("the agent without become reads /etc/shadow: %v", err)
	}
}

// TestUnreachable: a port where nothing listens, and a server that
// accepts and then says nothing, fail with ErrUnreachable, the latter at
// connect_timeout.
func TestUnreachable(t *testing.T) {
	dir := t.TempDir()
	id := filepath.Join(dir, "id")
	key(t, id, "")
	silent := listen(t, "tcp", "127.0.0.1:0", func(net.Conn) {})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	for name, port := range map[string]int{"refused": closedPort, "silent": silent.Addr().(*net.TCPAddr).Port} {
		cfg := Config{Name: "web", Address: "127.0.0.1", Port: port, User: "root", IdentityFile: id,
			KnownHostsFile: filepath.Join(dir, "known_hosts"), Home: dir, ConnectTimeout: time.Second}
		began := time.Now()
		_, err := Dial(context.Background(), cfg)
		took := time.Since(began)
		if !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "host web") || took > 5*time.Second {
			t.Errorf("%s: %v after %s", name, err, took)
		}
		if name == "silent" && !strings.Contains(err.Error(), "connect_timeout 1s") {
			t.Errorf("silent: %v", err)
		}
	}
}

// TestUnsafeCache: a cache of fencer's agent that another user could
// change (the directory, the home above it, a link) is refused before
// anything runs from it; a copy in it that another user could change is
// replaced.
func TestUnsafeCache(t *testing.T) {
	d := startSSHD(t, "")
	cfg := d.config(t)
	cache := filepath.Join(d.home, ".cache", "fencer")
	elsewhere := filepath.Join(d.dir, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, setup := range map[string]func() error{
		"world-writable directory": func() error { return os.MkdirAll(cache, 0o777) },
		"group-writable home":      func() error { return os.Chmod(d.home, 0o770) },
		"directory of another":     func() error { os.MkdirAll(cache, 0o700); return os.Chown(cache, 65534, 65534) },
		"link":                     func() error { os.MkdirAll(filepath.Dir(cache), 0o700); return os.Symlink(elsewhere, cache) },
	} {
		t.Run(name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(d.home, ".cache"))
			os.Chmod(d.home, 0o700)
			if err := setup(); err != nil {
				t.Fatal(err)
			}
			if name == "world-writable directory" {
				os.Chmod(cache, 0o777) // past the umask
			}
			h, err := Dial(context.Background(), cfg)
			if err == nil {
				h.Close()
			}
			if !errors.Is(err, ErrUnsafeCache) || !strings.Contains(err.Error(), "another user than the login user") || !strings.Contains(err.Error(), "host web") {
				t.Errorf("Dial = %v, want the unsafe cache refused", err)
			}
		})
	}
	os.RemoveAll(filepath.Join(d.home, ".cache"))
	os.Chmod(d.home, 0o700)
	h := dial(t, cfg)
	sum, _ := h.Fencer(context.Background())
	h.Close()
	cached := filepath.Join(cache, "fencer-"+sum[:16])
	for name, spoil := range map[string]func() error{
		"world-writable copy": func() error { return os.Chmod(cached, 0o777) },
		"copy of another":     func() error { return os.Chown(cached, 65534, 65534) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := spoil(); err != nil {
				t.Fatal(err)
			}
			dial(t, cfg).Close()
			st, err := os.Stat(cached)
			if err != nil || st.Mode().Perm() != 0o700 || st.Sys().(*syscall.Stat_t).Uid != 0 {
				t.Errorf("the copy was not replaced: %v, %v", st.Mode(), err)
			}
		})
	}
}

// TestHostKeyForms: the forms a known_hosts file takes. A hashed entry
// is accepted; with an ed25519 entry, a host that has an RSA key too is
// asked for its ed25519 one; a host that offers no key of the types
// known_hosts has for it, a key marked @revoked, a key a
// @cert-authority line would only vouch for as a certificate, and a host
// behind a known bastion whose own key is unknown are refused.
func TestHostKeyForms(t *testing.T) {
	needRoot(t)
	rsaKey := filepath.Join(openDir(t, "fencer-rsa"), "host_rsa")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	d := startSSHD(t, "HostKey "+rsaKey)
	cfg := d.config(t)
	addr := fmt.Sprintf("127.0.0.1:%d", d.port)
	pub := d.hostKey.PublicKey()
	other, _ := key(t, filepath.Join(d.dir, "other"), "")
	ecdsa := filepath.Join(d.dir, "ecdsa")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", ecdsa).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	ecdsaPub, err := os.ReadFile(ecdsa + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := func(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }
	hashed := knownhosts.HashHostname(knownhosts.Normalize(addr)) + " " + authorized(pub)
	for name, tc := range map[string]struct {
		known string
		want  string // "" to connect
	}{
		"hashed":         {hashed, ""},
		"ed25519 of two": {knownhosts.Line([]string{addr}, pub), ""},
		"no common type": {fmt.Sprintf("# ecdsa only\n[127.0.0.1]:%d %s", d.port, ecdsaPub), "offers no SSH host key of the types"},
		"revoked":        {"@revoked * " + authorized(pub) + "\n" + knownhosts.Line([]string{addr}, pub), "@revoked"},
		"cert-authority": {"@cert-authority * " + authorized(other.PublicKey()), "is not in"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.KnownHostsFile = filepath.Join(d.dir, "known_"+strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(cfg.KnownHostsFile, []byte(tc.known+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := Dial(context.Background(), cfg)
			if err == nil {
				h.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Dial: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Dial = %v, want ErrHostKey and %q", err, tc.want)
			}
			if name == "no common type" && err != nil && !strings.Contains(err.Error(), cfg.KnownHostsFile+":2") {
				t.Errorf("no file:line of the entry: %v", err)
			}
		})
	}
	// The bastion is known, the host behind it not: refused at the host.
	cfg.KnownHostsFile = filepath.Join(d.dir, "known_bastion")
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(knownhosts.Line([]string{fmt.Sprintf("localhost:%d", d.port)}, pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Bastion = fmt.Sprintf("root@localhost:%d", d.port)
	_, err = Dial(context.Background(), cfg)
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), fmt.Sprintf("[127.0.0.1]:%d", d.port)) {
		t.Errorf("the host behind a known bastion: %v", err)
	}
}

// startMute serves SSH on 127.0.0.1, logging in any key, and then never
// answers: the opening of a session (mode "channel") or its command
// (mode "exec"). It returns a Config that reaches it.
func startMute(t *testing.T, mode string) Config {
	t.Helper()
	dir := t.TempDir()
	hostKey, _ := key(t, filepath.Join(dir, "host_key"), "")
	id := filepath.Join(dir, "id")
	key(t, id, "")
	config := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	config.AddHostKey(hostKey)
	l := listen(t, "tcp", "127.0.0.1:0", func(conn net.Conn) {
		_, chans, reqs, err := ssh.NewServerConn(conn, config)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			if mode == "exec" {
				if _, reqs, err := nc.Accept(); err == nil {
					go func() {
						for range reqs { // never replied
						}
					}()
				}
			}
		}
	})
	port := l.Addr().(*net.TCPAddr).Port
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(knownhosts.Line([]string{fmt.Sprintf("127.0.0.1:%d", port)}, hostKey.PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{Name: "web", Address: "127.0.0.1", Port: port, User: "root", IdentityFile: id, KnownHostsFile: known,
		Home: dir, ConnectTimeout: time.Second, Loaders: loader.SetOf(&loader.Binary{Data: []byte("x"), Arch: "x86_64"})}
}

// dialWithin dials cfg and returns how long Dial took and its error;
// the test fails at once when Dial holds on for 15 seconds.
func dialWithin(t *testing.T, cfg Config) (time.Duration, error) {
	t.Helper()
	errc := make(chan error, 1)
	began := time.Now()
	go func() {
		h, err := Dial(context.Background(), cfg)
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		return time.Since(began), err
	case <-time.After(15 * time.Second):
		t.Fatal("Dial holds on")
		return 0, nil
	}
}

// TestMute: a host that logs fencer in and then never answers the opening
// of a session, or a command, fails with ErrUnreachable at its connect
// timeout, not never.
func TestMute(t *testing.T) {
	for _, mode := range []string{"channel", "exec"} {
		t.Run(mode, func(t *testing.T) {
			cfg := startMute(t, mode)
			took, err := dialWithin(t, cfg)
			if !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "no answer within connect_timeout 1s") || took > 5*time.Second {
				t.Errorf("Dial = %v after %s", err, took)
			}
		})
	}
}

// slowSigner is an ssh-agent whose keys never sign: one that waits for a
// confirmation nobody gives.
type slowSigner struct{ agent.Agent }

func (slowSigner) Sign(ssh.PublicKey, []byte) (*ssh.Signature, error) { select {} }

// TestAgentNeverSigns: logging in with an ssh-agent that never signs ends
// at the connect timeout (the agent's socket has a deadline).
func TestAgentNeverSigns(t *testing.T) {
	cfg := startMute(t, "channel")
	_, priv := key(t, filepath.Join(t.TempDir(), "id"), "")
	ring := agent.NewKeyring()
	if err := ring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	listen(t, "unix", sock, func(c net.Conn) { agent.ServeAgent(slowSigner{ring}, c) })
	cfg.AuthSock, cfg.IdentityFile = sock, ""
	if _, err := dialWithin(t, cfg); err == nil {
		t.Error("logged in without a signature")
	}
}

// TestIPv6: a host at an IPv6 address is checked against its
// "[addr]:port" entry, and the line to add for an unknown one has that
// form.
func TestIPv6(t *testing.T) {
	d := startSSHD(t, "ListenAddress [::1]:{port}")
	cfg := d.config(t)
	cfg.Address = "::1"
	_, err := Dial(context.Background(), cfg)
	line := fmt.Sprintf("[::1]:%d %s", d.port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.hostKey.PublicKey()))))
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "\n  "+line) {
		t.Fatalf("::1 known only as 127.0.0.1: %v\nwant the line %s", err, line)
	}
	f, err := os.OpenFile(cfg.KnownHostsFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, line)
	f.Close()
	dial(t, cfg).Close()
}

// TestOddHome: a login whose home has a space, quotes and a dollar sign
// gets its agent cached and started there: every path fencer sends to
// the shell is quoted.
func TestOddHome(t *testing.T) {
	d := startSSHD(t, "")
	testUser(t, "fencer-odd")
	home := filepath.Join(openDir(t, "fencer-odd"), `it's a "home" $HOME`)
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "fencer-odd:", home).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	if out, err := exec.Command("usermod", "-d", home, "fencer-odd").CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
	cfg := d.config(t)
	cfg.User = "fencer-odd"
	h := dial(t, cfg)
	sum, _ := h.Fencer(context.Background())
	if _, err := os.Stat(filepath.Join(home, ".cache", "fencer", "fencer-"+sum[:16])); err != nil {
		t.Errorf("the agent is not cached in the odd home: %v", err)
	}
	names, err := h.ReadDir(context.Background(), home)
	if err != nil || !slices.Contains(names, ".cache") {
		t.Errorf("ReadDir of the home: %v, %v", names, err)
	}
}

// TestLoginShell: a login whose shell is not a POSIX sh (fish, csh; zsh
// does not split words) still gets its agent: fencer asks the login shell
// only for `uname -m` and for exec of a program with quoted arguments,
// and runs its scripts with /bin/sh. The stand-in shell runs those and
// refuses anything else.
func TestLoginShell(t *testing.T) {
	d := startSSHD(t, "")
	home := testUser(t, "fencer-fish")
	shell := filepath.Join(openDir(t, "fencer-shell"), "fakesh")
	script := "#!/bin/sh\ncase \"$2\" in\n\"exec \"*|\"uname -m\") exec /bin/sh -c \"$2\" ;;\n*) echo \"fakesh: not a command this shell knows: $2\" >&2; exit 127 ;;\nesac\n"
	if err := os.WriteFile(shell, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("usermod", "-s", shell, "fencer-fish").CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("usermod", "-s", "/bin/sh", "fencer-fish").Run() })
	cfg := d.config(t)
	cfg.User = "fencer-fish"
	h := dial(t, cfg)
	if _, err := h.ReadDir(context.Background(), home); err != nil {
		t.Errorf("ReadDir: %v", err)
	}
}
