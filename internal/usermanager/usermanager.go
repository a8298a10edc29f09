// Package usermanager starts real systemd user managers for tests.
//
// A user manager ("systemd --user") only runs, and systemctl only talks to
// it, when /run/systemd/system exists — the sign that the machine booted
// with systemd. Test machines whose PID 1 is not systemd lack it, so the
// test process runs in a mount namespace of its own with a tmpfs on
// /run/systemd holding that directory; nothing outside the namespace sees
// it. Each manager gets its own HOME and XDG_RUNTIME_DIR in a temporary
// directory, and its own cgroup where it can make one, so tests can run
// managers side by side.
//
// Use it from a package's TestMain:
//
//	func TestMain(m *testing.M) {
//		// child modes of the test binary (re-executed by tests) go first
//		os.Exit(usermanager.RunInNamespace(m))
//	}
//
// and in a test:
//
//	um := usermanager.Start(t)        // skips unless root (fails under CI=true)
//	out, err := um.Systemctl("start", "foo.service")
//	cmd := exec.Command("systemctl", "--user", ...); cmd.Env = um.Env
//
// Start skips the test when it cannot run a manager (not root, no systemd,
// not in the namespace) — except when $CI is "true", where it fails.
package usermanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nsEnv marks a test process that RunInNamespace re-executed inside its
// own mount namespace (and that set up /run/systemd there).
const nsEnv = "FENCER_USERMANAGER_NS"

// Binary is the user manager's executable.
var Binary = "/lib/systemd/systemd"

// ci reports whether tests must not skip.
func ci() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ci() {
		t.Fatalf("systemd user manager unavailable (CI=true, so this fails instead of skipping): %s", msg)
	}
	t.Skipf("systemd user manager unavailable: %s", msg)
}

// InNamespace reports whether this process runs in the mount namespace
// RunInNamespace prepared.
func InNamespace() bool { return os.Getenv(nsEnv) == "1" }

// Main is the TestMain of a package whose tests re-execute the test
// binary in a child mode: with $env set to the name of one of children,
// the binary runs that child and exits with what it returns (2 for a name
// children lacks); otherwise it runs the tests as RunInNamespace does.
func Main(m *testing.M, env string, children map[string]func() int) {
	if mode := os.Getenv(env); mode != "" {
		child, ok := children[mode]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown %s=%s\n", env, mode)
			os.Exit(2)
		}
		os.Exit(child())
	}
	os.Exit(RunInNamespace(m))
}

// RunInNamespace runs the tests of m inside a private mount namespace
// with /run/systemd/system present, and returns the exit code for
// os.Exit. When this process is root and not yet in such a namespace, it
// re-executes the test binary (same arguments) in a new one and returns
// that run's exit code; the re-executed binary, seeing $FENCER_USERMANAGER_NS,
// mounts a tmpfs on /run/systemd, creates /run/systemd/system and runs the
// tests. Otherwise (not root, no systemd, or the namespace cannot be
// created) it runs the tests here, where Start skips.
//
// Call it last in TestMain: code that must run before (child modes of the
// test binary re-executed by tests) goes first.
func RunInNamespace(m *testing.M) int {
	if InNamespace() {
		if err := setupNamespace(); err != nil {
			fmt.Fprintf(os.Stderr, "usermanager: %v\n", err)
			return 1
		}
		return m.Run()
	}
	if os.Geteuid() != 0 {
		return m.Run()
	}
	if _, err := os.Stat(Binary); err != nil {
		return m.Run()
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "usermanager: %v\n", err)
		return m.Run()
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Go makes / private (MS_REC|MS_PRIVATE) in the child after
	// unsharing, so mounts stay inside the namespace.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	case errors.As(err, &exit):
		fmt.Fprintf(os.Stderr, "usermanager: test binary in its mount namespace: %v\n", err)
		return 1
	}
	// The namespace could not be made: run here, where Start skips.
	fmt.Fprintf(os.Stderr, "usermanager: cannot re-execute in a mount namespace (%v); running tests without a user manager\n", err)
	return m.Run()
}

// setupNamespace mounts the tmpfs on /run/systemd inside the namespace,
// unless /run/systemd/system exists already (a test process the tests
// started inherits both the namespace and $FENCER_USERMANAGER_NS).
func setupNamespace() error {
	if st, err := os.Stat("/run/systemd/system"); err == nil && st.IsDir() {
		return nil
	}
	if err := os.MkdirAll("/run/systemd", 0o755); err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run/systemd", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount namespace: mount tmpfs on /run/systemd: %w", err)
	}
	if err := os.Mkdir("/run/systemd/system", 0o755); err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	return nil
}

// Manager is a running user manager.
type Manager struct {
	// Home is $HOME for the manager and the tests' commands; user units
	// go in Home/.config/systemd/user.
	Home string
	// RuntimeDir is $XDG_RUNTIME_DIR (mode 0700); the manager listens on
	// RuntimeDir/systemd/private.
	RuntimeDir string
	// Env is the environment to run systemctl --user and the code under
	// test with: this process's, with HOME and XDG_RUNTIME_DIR set and
	// XDG_CONFIG_HOME, XDG_DATA_HOME and DBUS_SESSION_BUS_ADDRESS removed.
	Env []string
	// LogFile holds the manager's stdout and stderr.
	LogFile string
	// Startup is how long the manager took from exec until it reported
	// "running" (or "degraded").
	Startup time.Duration

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	// cgroups are the manager's own cgroups, one per hierarchy that
	// tracks systemd's units (see MakeCgroup).
	cgroups Cgroup
}

// Start starts a user manager for the test and stops it when the test
// ends. It skips the test (fails it when $CI is "true") when a manager
// cannot run here, and fails it when the manager does not come up within
// 30 seconds.
func Start(t testing.TB) *Manager {
	t.Helper()
	switch {
	case os.Geteuid() != 0:
		unavailable(t, "not root")
	case !InNamespace():
		if _, err := os.Stat(Binary); err != nil {
			unavailable(t, "%v", err)
		}
		unavailable(t, "the test process is not in its own mount namespace: call usermanager.RunInNamespace from TestMain")
	}
	if _, err := os.Stat(Binary); err != nil {
		unavailable(t, "%v", err)
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		unavailable(t, "%v", err)
	}
	// A short directory: the manager's sockets must fit in sun_path.
	dir, err := os.MkdirTemp("", "um")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m, err := start(dir)
	if m != nil {
		t.Cleanup(func() {
			if err := m.Stop(); err != nil {
				t.Errorf("stopping the user manager: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("starting a user manager: %v", err)
	}
	return m
}

func start(dir string) (*Manager, error) {
	m := &Manager{
		Home:       filepath.Join(dir, "home"),
		RuntimeDir: filepath.Join(dir, "run"),
		LogFile:    filepath.Join(dir, "manager.log"),
		done:       make(chan struct{}),
	}
	if err := os.Mkdir(m.Home, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(m.RuntimeDir, 0o700); err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DBUS_SESSION_BUS_ADDRESS", "SYSTEMD_UNIT_PATH", nsEnv:
			continue
		}
		m.Env = append(m.Env, kv)
	}
	m.Env = append(m.Env, "HOME="+m.Home, "XDG_RUNTIME_DIR="+m.RuntimeDir)

	log, err := os.Create(m.LogFile)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	began := time.Now()
	m.cmd = exec.Command(Binary, "--user")
	if cgroups := MakeCgroup("fencer-" + filepath.Base(dir)); len(cgroups) > 0 {
		// The shell moves itself into the manager's cgroups, then
		// becomes the manager.
		m.cgroups = cgroups
		m.cmd = exec.Command("/bin/sh", "-c", `b=$1; shift; for d; do echo $$ >"$d/cgroup.procs" || exit 125; done; exec "$b" --user`, "sh", Binary)
		m.cmd.Args = append(m.cmd.Args, cgroups...)
	}
	m.cmd.Env = m.Env
	m.cmd.Dir = m.Home
	m.cmd.Stdout, m.cmd.Stderr = log, log
	// The manager stops its units on SIGTERM; if the test binary dies,
	// the manager goes with it.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := filepath.Join(m.RuntimeDir, "systemd", "private")
	for {
		select {
		case <-m.done:
			return m, fmt.Errorf("%s --user exited (%v) before it was running:\n%s", Binary, m.err, m.Log())
		case <-ctx.Done():
			return m, fmt.Errorf("%s --user not running after 30s:\n%s", Binary, m.Log())
		case <-time.After(5 * time.Millisecond):
		}
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		out, _ := m.Systemctl("is-system-running")
		state := strings.TrimSpace(string(out))
		if state == "running" || state == "degraded" {
			m.Startup = time.Since(began)
			return m, nil
		}
	}
}

// Log returns what the manager has written to its stdout and stderr.
func (m *Manager) Log() string {
	b, err := os.ReadFile(m.LogFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Systemctl runs `systemctl --user ARGS...` against the manager and
// returns its standard output; the error carries standard error.
func (m *Manager) Systemctl(args ...string) ([]byte, error) {
	cmd := exec.Command("systemctl", append([]string{"--user", "--no-pager"}, args...)...)
	cmd.Env = m.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("systemctl --user %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Show returns one property of a unit (systemctl --user show -p NAME --value).
func (m *Manager) Show(unit, property string) (string, error) {
	out, err := m.Systemctl("show", "-p", property, "--value", unit)
	return strings.TrimSpace(string(out)), err
}

// Stop stops the manager (SIGTERM, which stops its units too; SIGKILL
// after 10 seconds), then kills every process still in its cgroups and
// removes them. The manager stops on SIGTERM only the units that conflict
// with shutdown.target: a service whose unit file was removed (and the
// manager reloaded) while it ran has lost that dependency with its
// fragment, and outlives the manager — as TestVerifyVendorExecStart in
// e2e left a listening metrics-server behind on every run. Stopping a
// stopped manager does nothing.
func (m *Manager) Stop() error {
	err := m.stopManager()
	if kerr := m.cgroups.Kill(); kerr != nil {
		err = errors.Join(err, kerr)
	}
	m.cgroups.Remove()
	return err
}

func (m *Manager) stopManager() error {
	select {
	case <-m.done:
		return nil
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
		return fmt.Errorf("%s --user did not exit within 10s of SIGTERM; killed", Binary)
	}
}
