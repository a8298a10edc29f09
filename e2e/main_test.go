// Package e2e is fencer's acceptance suite (issue 3): the real fencer
// binary plans, applies and destroys examples/metrics under a real systemd
// user manager, the example server runs under the policy, and the ways
// that can go wrong (stale plans, a killed apply, a held lock, bad input)
// end with a clear message and nothing half done.
//
// Most tests need root (a user manager in a private mount namespace, see
// internal/usermanager) and build the fencer binary and the example
// server once, into a temporary directory; the README's first command and
// fencer exec's refusals also run unprivileged. Tests skip on a machine
// where they cannot run, except under CI=true, where they fail.
//
// TestFleet (fleet_test.go) runs issue 9's fleet scenarios against five
// simulated hosts over SSH (internal/fleettest): the metrics example on
// all five, a wrong host key, a host down, killed applies and cut
// connections, verify, -target, pull mode and destroy.
//
// The fault-injection tests stop fencer apply at exact steps with
// $FENCER_TEST_PAUSE, a test-only hook of cmd/fencer (see testPauseEnv
// there and apply.Options.Pause), and kill it there with SIGKILL.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
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

func TestMain(m *testing.M) {
	// The tests run in a mount namespace of their own where a systemd
	// user manager can run (see package usermanager).
	code := usermanager.RunInNamespace(m)
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// ci reports whether the suite runs in CI, where nothing may be skipped.
func ci() bool { return os.Getenv("CI") == "true" }

// need skips the test when ok is false, or fails it under CI=true.
func need(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if ci() {
		t.Fatalf("cannot run (CI=true, so this fails instead of skipping): %s", msg)
	}
	t.Skipf("cannot run: %s", msg)
}

// repo is the module's root directory.
func repo(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// build holds the binaries every test runs, built once per test process.
var build struct {
	once   sync.Once
	dir    string
	fencer string // fencer, built from this tree
	server string // examples/metrics/build.sh's server
	err    error
}

// binaries builds fencer and the example server (once) and returns their
// paths. The directory is readable by every user, for the test that runs
// fencer unprivileged.
func binaries(t testing.TB) (fencer, server string) {
	t.Helper()
	build.once.Do(func() {
		root := repo(t)
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = "/usr/local/go/bin/go"
		}
		if build.dir, build.err = os.MkdirTemp("", "fencer-e2e-bin"); build.err != nil {
			return
		}
		if build.err = os.Chmod(build.dir, 0o755); build.err != nil {
			return
		}
		build.fencer = filepath.Join(build.dir, "fencer")
		build.server = filepath.Join(build.dir, "metrics-server")
		cmd := exec.Command(goCmd, "build", "-buildvcs=false", "-o", build.fencer, "./cmd/fencer")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/fencer: %v\n%s", err, out)
			return
		}
		cmd = exec.Command("sh", filepath.Join(root, "examples", "metrics", "build.sh"), build.server)
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("examples/metrics/build.sh: %v\n%s", err, out)
		}
	})
	need(t, build.err == nil, "%v", build.err)
	return build.fencer, build.server
}

// result is how a command ended.
type result struct {
	args           []string
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("fencer %s: exit %d after %s\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// run runs a command and returns how it ended; only a failure to start it
// fails the test.
func run(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	r := result{args: cmd.Args[1:], stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	return r
}

// world is a user manager with examples/metrics copied into a
// configuration directory of the test's, and the variables that point it
// at the test's binaries, log file and port.
type world struct {
	t              *testing.T
	um             *usermanager.Manager
	fencer, server string
	// cfg is the configuration directory, a copy of examples/metrics.
	cfg string
	// log is the server's log file; port the one it listens on.
	log  string
	port int
	// unitDir and filterDir are where fencer writes in user scope.
	unitDir, filterDir string
}

// newWorld starts a user manager and copies the example's configuration.
func newWorld(t *testing.T) *world {
	t.Helper()
	um := usermanager.Start(t)
	fencer, server := binaries(t)
	w := &world{
		t: t, um: um, fencer: fencer, server: server,
		cfg:       t.TempDir(),
		log:       filepath.Join(t.TempDir(), "metrics.log"),
		port:      freePort(t),
		unitDir:   filepath.Join(um.Home, ".config", "systemd", "user"),
		filterDir: filepath.Join(um.Home, ".config", "fencer", "filters"),
	}
	src := filepath.Join(repo(t), "examples", "metrics")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".fencer.hcl") || n == "metrics.service" {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(w.cfg, n), string(b))
		}
	}
	return w
}

// vars are the -var flags for the world's host: user scope, the built
// loader and server, the test's log file and port.
func (w *world) vars() []string {
	return []string{
		"-var", "scope=user",
		"-var", "fencer_path=" + w.fencer,
		"-var", "server_path=" + w.server,
		"-var", "log_path=" + w.log,
		"-var", fmt.Sprintf("port=%d", w.port),
	}
}

// command returns fencer ARGS run in the configuration directory with the
// user manager's environment.
func (w *world) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.fencer, args...)
	cmd.Dir = w.cfg
	cmd.Env = w.um.Env
	return cmd
}

// run runs fencer ARGS (no variables added).
func (w *world) run(args ...string) result {
	w.t.Helper()
	r := run(w.t, w.command(args...))
	w.t.Logf("fencer %s: exit %d (%s)", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// fencerCmd runs fencer COMMAND with the world's variables, then extra.
func (w *world) fencerCmd(command string, extra ...string) result {
	w.t.Helper()
	return w.run(append(append([]string{command}, w.vars()...), extra...)...)
}

// mustApply applies the configuration and fails the test unless it worked.
func (w *world) mustApply(extra ...string) result {
	w.t.Helper()
	r := w.fencerCmd("apply", append([]string{"-auto-approve"}, extra...)...)
	if r.code != 0 {
		w.t.Fatalf("apply failed:\n%s\n--- user manager\n%s", r, w.um.Log())
	}
	return r
}

// planCode runs plan -detailed-exitcode and returns its exit code.
func (w *world) planCode(extra ...string) (int, result) {
	w.t.Helper()
	r := w.fencerCmd("plan", append([]string{"-detailed-exitcode"}, extra...)...)
	return r.code, r
}

// edit replaces old by new in the configuration file name, which must
// contain old exactly once.
func (w *world) edit(name, old, new string) {
	w.t.Helper()
	p := filepath.Join(w.cfg, name)
	b, err := os.ReadFile(p)
	if err != nil {
		w.t.Fatal(err)
	}
	if n := strings.Count(string(b), old); n != 1 {
		w.t.Fatalf("%s contains %q %d times, want once", name, old, n)
	}
	writeFile(w.t, p, strings.Replace(string(b), old, new, 1))
}

// Paths of the files apply writes for the example in user scope.
func (w *world) filterPath() string { return filepath.Join(w.filterDir, "metrics.service.bpf") }
func (w *world) dropInPath() string {
	return filepath.Join(w.unitDir, "metrics.service.d", "zz-fencer.conf")
}
func (w *world) socketPath() string   { return filepath.Join(w.unitDir, "metrics.socket") }
func (w *world) unitFilePath() string { return filepath.Join(w.unitDir, "metrics.service") }

// managed lists the example's files in user scope.
func (w *world) managed() []string {
	return []string{w.filterPath(), w.unitFilePath(), w.socketPath(), w.dropInPath()}
}

// show returns a unit's property.
func (w *world) show(unit, prop string) string {
	w.t.Helper()
	v, err := w.um.Show(unit, prop)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// freePort returns a TCP port nothing listens on just now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tree is a directory tree's state: for each path under the root, its
// kind and content hash, mode, inode and modification time — what any
// write, rename or removal changes.
type tree map[string]string

// snapshot records the tree under each of roots (missing roots are
// empty).
func snapshot(t testing.TB, roots ...string) tree {
	t.Helper()
	out := tree{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			if err != nil {
				return err
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			desc := fmt.Sprintf("%v mtime %d", st.Mode(), st.ModTime().UnixNano())
			switch {
			case st.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				desc += " -> " + target
			case st.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				desc += " sha256 " + sha(b)
			}
			out[p] = desc
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// diff lists what differs between two snapshots.
func (a tree) diff(b tree) []string {
	var out []string
	for p, d := range a {
		if e, ok := b[p]; !ok {
			out = append(out, "removed "+p)
		} else if e != d {
			out = append(out, "changed "+p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "added "+p)
		}
	}
	sort.Strings(out)
	return out
}

// planJSON is the part of `fencer plan -json` the tests read.
type planJSON struct {
	Hosts []struct {
		Name    string `json:"name"`
		Error   string `json:"error"`
		Changes []struct {
			Path    string `json:"path"`
			Action  string `json:"action"`
			Role    string `json:"role"`
			Content []byte `json:"content"`
			Text    string `json:"text"`
		} `json:"changes"`
	} `json:"hosts"`
}

func parsePlan(t testing.TB, out string) planJSON {
	t.Helper()
	var p planJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -json output: %v\n%s", err, out)
	}
	return p
}

// changed returns path -> action for every change that is not a no-op.
func (p planJSON) changed() map[string]string {
	out := map[string]string{}
	for _, h := range p.Hosts {
		for _, c := range h.Changes {
			if c.Action != "no-op" {
				out[c.Path] = c.Action
			}
		}
	}
	return out
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
