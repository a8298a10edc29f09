package sshhost

import (
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fencer-dev/fencer/plan/loader"
)

// The tests of this package run a real sshd on 127.0.0.1, with keys and
// known_hosts made for each test in its temporary directory. They need
// root (sshd -D as root); under CI=true they never skip.

func needRoot(t *testing.T) {
	t.Helper()
	_, err := os.Stat("/usr/sbin/sshd")
	var why string
	switch {
	case os.Geteuid() != 0:
		why = "not root: sshd needs it"
	case err != nil:
		why = "no /usr/sbin/sshd (openssh-server)"
	default:
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot run (CI=true, so this fails instead of skipping): %s", why)
	}
	t.Skip(why)
}

// fencerBinary builds fencer once per test process: the agent the tests
// upload.
var fencerBinary struct {
	once sync.Once
	bin  *loader.Binary
	path string
	err  error
}

func testLoaders(t testing.TB) *loader.Set {
	t.Helper()
	fencerBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "fencer-sshhost-bin")
		if err != nil {
			fencerBinary.err = err
			return
		}
		out := filepath.Join(dir, "fencer")
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = "/usr/local/go/bin/go"
		}
		cmd := exec.Command(goCmd, "build", "-buildvcs=false", "-o", out, "github.com/fencer-dev/fencer/cmd/fencer")
		if b, err := cmd.CombinedOutput(); err != nil {
			fencerBinary.err = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		data, err := os.ReadFile(out)
		if err != nil {
			fencerBinary.err = err
			return
		}
		fencerBinary.path = out
		fencerBinary.bin = &loader.Binary{Data: data, Arch: "x86_64"}
	})
	if fencerBinary.err != nil {
		t.Fatal(fencerBinary.err)
	}
	return loader.SetOf(fencerBinary.bin)
}

// key makes an ed25519 key and writes its private half, in OpenSSH's
// format (encrypted with passphrase when it is not ""), to path.
func key(t *testing.T, path, passphrase string) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

// sshd is a running sshd and what a client needs to reach it.
type sshd struct {
	dir      string
	port     int
	hostKey  ssh.Signer
	known    string // a known_hosts file with its key
	identity string // a client key it accepts
	home     string // root's HOME in its sessions
	cmd      *exec.Cmd
}

// startSSHD starts sshd on a free port of 127.0.0.1, accepting the
// client key for every user (authorized keys listed in authorized), with
// extra appended to its configuration ({port} in it replaced by the
// port).
func startSSHD(t *testing.T, extra string) *sshd {
	t.Helper()
	needRoot(t)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	d := &sshd{dir: openDir(t, "fencer-sshd")}
	d.hostKey, _ = key(t, filepath.Join(d.dir, "host_key"), "")
	d.identity = filepath.Join(d.dir, "id_ed25519")
	client, _ := key(t, d.identity, "")
	d.authorize(t, client.PublicKey())
	d.home = filepath.Join(d.dir, "home")
	if err := os.MkdirAll(filepath.Join(d.home, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
LogLevel VERBOSE
%s
Match User root
  SetEnv HOME=%s XDG_RUNTIME_DIR=%s/run
`, d.port, d.dir, d.dir, strings.ReplaceAll(extra, "{port}", fmt.Sprint(d.port)), d.home, d.home)
	if err := os.WriteFile(filepath.Join(d.dir, "sshd_config"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.known = filepath.Join(d.dir, "known_hosts")
	line := knownhosts.Line([]string{fmt.Sprintf("127.0.0.1:%d", d.port)}, d.hostKey.PublicKey())
	if err := os.WriteFile(d.known, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(d.dir, "sshd_config"))
	log, err := os.Create(filepath.Join(d.dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(d.dir, "sshd.log"))
			t.Logf("sshd's log:\n%s", b)
		}
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", d.port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("sshd does not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// openDir makes a temporary directory every user can reach (the
// parents of t.TempDir are root's only), removed at the end of the test.
func openDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// authorize adds a public key to the authorized keys.
func (d *sshd) authorize(t *testing.T, pub ssh.PublicKey) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(d.dir, "authorized_keys"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		t.Fatal(err)
	}
}

// config is a Config that reaches d as root with its identity, in user
// scope under d's HOME.
func (d *sshd) config(t *testing.T) Config {
	return Config{Name: "web", Address: "127.0.0.1", Port: d.port, User: "root", IdentityFile: d.identity,
		KnownHostsFile: d.known, Scope: "user", Loaders: testLoaders(t), Home: d.dir, ConnectTimeout: 10 * time.Second}
}

// TestMain removes the fencer binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if fencerBinary.path != "" {
		os.RemoveAll(filepath.Dir(fencerBinary.path))
	}
	os.Exit(code)
}

// listen listens on network and addr and serves each connection with
// serve, in a goroutine of its own; the listener and every connection are
// closed at the end of the test (not when serve returns: a silent server
// keeps them open).
func listen(t *testing.T, network, addr string, serve func(net.Conn)) net.Listener {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	return l
}

// configDir writes conf as the configuration of a new directory named
// name under a temporary directory, and returns the directory.
func configDir(t *testing.T, name, conf string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.fencer.hcl"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fencerIn returns a function running the test's fencer binary (testLoaders
// builds it) in dir with args, -no-color, an empty HOME and a minimal PATH,
// giving its combined output.
func fencerIn(t *testing.T, dir string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		cmd := exec.Command(fencerBinary.path, append([]string{"-no-color"}, args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}
