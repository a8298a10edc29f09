package procseccomp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
)

// The test binary doubles as the helper processes the tests need; the
// environment variable childEnv says which.
const (
	childEnv  = "FENCER_PROCSECCOMP_CHILD"
	argvEnv   = "FENCER_PROCSECCOMP_ARGV"   // install: the command to execute, separated by \x1f
	targetEnv = "FENCER_PROCSECCOMP_TARGET" // inspect: the pid to inspect
	skipEnv   = "FENCER_PROCSECCOMP_SKIP_PRECHECK"
)

const (
	retAllow       = 0x7fff0000
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
)

// oldProg is installed first: allow the native architecture, kill the
// rest.
func oldProg() bpf.Program {
	a, ok := arch.Lookup(runtime.GOARCH)
	if !ok {
		panic("no AUDIT_ARCH for " + runtime.GOARCH)
	}
	return bpf.Program{
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffArch),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, a.Audit, 0, 1),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, retAllow),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, retKillProcess),
	}
}

// newProg is stacked on oldProg: a syscall number no kernel has fails
// with EPERM, everything else is allowed.
func newProg() bpf.Program {
	return bpf.Program{
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 4095, 0, 2),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffArch),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, retErrno|uint32(unix.EPERM)),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, retAllow),
	}
}

// allowProg allows everything.
func allowProg() bpf.Program {
	return bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, retAllow)}
}

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "install":
		childInstall()
	case "inspect":
		childInspect(false)
	case "filtered-inspect":
		childInspect(true)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", childEnv, os.Getenv(childEnv))
		os.Exit(2)
	}
}

// installFilter attaches p to the calling thread (or, with flags
// SECCOMP_FILTER_FLAG_TSYNC, to every thread).
func installFilter(p bpf.Program, flags uintptr) error {
	code := p.Encode(nativeOrder())
	prog := unix.SockFprog{Len: uint16(len(p)), Filter: (*unix.SockFilter)(unsafe.Pointer(&code[0]))}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(code)
	if e != 0 {
		return e
	}
	return nil
}

// childInstall installs oldProg then newProg on its thread, as fencer's
// loader does, and executes the command in argvEnv on that thread.
func childInstall() {
	runtime.LockOSThread()
	argv := strings.Split(os.Getenv(argvEnv), "\x1f")
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "install child: %s: %v\n", what, err)
		os.Exit(3)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	if err := installFilter(oldProg(), 0); err != nil {
		fail("seccomp(old)", err)
	}
	if err := installFilter(newProg(), 0); err != nil {
		fail("seccomp(new)", err)
	}
	env := os.Environ()[:0:0]
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FENCER_PROCSECCOMP_") {
			env = append(env, kv)
		}
	}
	fail("execve", syscall.Exec(argv[0], argv, env))
}

// childInspect calls Filters on the pid in targetEnv and prints the
// outcome on stdout: "ok N", "notpermitted: ..." or "error: ...". With
// filtered, it first puts itself under an allow-all filter.
func childInspect(filtered bool) {
	if filtered {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Printf("error: prctl: %v\n", err)
			os.Exit(0)
		}
		if err := installFilter(allowProg(), unix.SECCOMP_FILTER_FLAG_TSYNC); err != nil {
			fmt.Printf("error: seccomp: %v\n", err)
			os.Exit(0)
		}
	}
	skipPrecheck = os.Getenv(skipEnv) == "1"
	pid, _ := strconv.Atoi(os.Getenv(targetEnv))
	progs, err := Filters(pid)
	switch {
	case err == nil:
		fmt.Printf("ok %d\n", len(progs))
	case errors.Is(err, ErrNotPermitted):
		fmt.Printf("notpermitted: %v\n", err)
	default:
		fmt.Printf("error: %v\n", err)
	}
	os.Exit(0)
}

func nativeOrder() binary.ByteOrder {
	a, _ := arch.Lookup(runtime.GOARCH)
	return a.Order
}

// needRoot fails the test (under CI) or skips it (elsewhere) without root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, which CI provides")
	}
	t.Skip("needs root")
}

// child is a process started by a test, cleaned up with SIGKILL.
type child struct {
	cmd    *exec.Cmd
	pid    int
	before time.Time // just before the fork
	after  time.Time // once it had executed its command
	waited bool
}

// startFiltered starts the install helper executing argv (as cred, when
// not nil) and waits until it has executed it under both filters.
func startFiltered(t *testing.T, cred *syscall.Credential, argv ...string) *child {
	t.Helper()
	bin := testBinary(t, cred != nil)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=install", argvEnv+"="+strings.Join(argv, "\x1f"))
	cmd.Stderr = os.Stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return start(t, cmd, argv[0])
}

// start starts cmd and waits until it runs exe (its /proc/PID/exe).
func start(t *testing.T, cmd *exec.Cmd, exe string) *child {
	t.Helper()
	c := &child{cmd: cmd, before: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.pid = cmd.Process.Pid
	t.Cleanup(func() {
		if !c.waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	want, err := filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.pid)); err == nil && got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d did not execute %s", c.pid, exe)
		}
		time.Sleep(time.Millisecond)
	}
	c.after = time.Now()
	return c
}

// wait waits for the child to end and returns how.
func (c *child) wait(t *testing.T, timeout time.Duration) syscall.WaitStatus {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("pid %d did not end within %v (state %s)", c.pid, timeout, state(t, c.pid))
	}
	c.waited = true
	return c.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// terminate sends SIGTERM and checks the child ends of it, showing it was
// left running normally.
func (c *child) terminate(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ws := c.wait(t, 10*time.Second); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("pid %d ended with %v, want killed by SIGTERM", c.pid, ws)
	}
}

// state returns the State field of /proc/PID/stat.
func state(t *testing.T, pid int) string {
	t.Helper()
	st, err := readStat(pid)
	if err != nil {
		return "gone (" + err.Error() + ")"
	}
	return string(st.state)
}

// assertRunning checks the process is neither stopped nor traced.
func assertRunning(t *testing.T, pid int) {
	t.Helper()
	if s := state(t, pid); s != "S" && s != "R" {
		t.Fatalf("pid %d is in state %s, want S or R", pid, s)
	}
	assertNotTraced(t, pid)
}

func assertNotTraced(t *testing.T, pid int) {
	t.Helper()
	f, err := statusFields(pid, "TracerPid")
	if err != nil {
		t.Fatal(err)
	}
	if f["TracerPid"] != "0" {
		t.Fatalf("pid %d is still traced by %s", pid, f["TracerPid"])
	}
}

// waitState polls until pid is in one of the states.
func waitState(t *testing.T, pid int, states string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := state(t, pid)
		if len(s) == 1 && strings.Contains(states, s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d is in state %s, want one of %s", pid, s, states)
		}
		time.Sleep(time.Millisecond)
	}
}

// testBinary returns this test binary's path; with shared, a copy that
// any user may execute (go test's build directory is root's alone).
func testBinary(t *testing.T, shared bool) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !shared {
		return exe
	}
	dir, err := os.MkdirTemp("", "procseccomp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "procseccomp.test")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// nobody is the unprivileged user the tests drop to.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}

// inspectAs runs the inspect helper (mode inspect or filtered-inspect)
// against pid and returns its output. A helper that hangs fails the test.
func inspectAs(t *testing.T, mode string, cred *syscall.Credential, pid int, skip bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testBinary(t, cred != nil))
	cmd.Env = append(os.Environ(), childEnv+"="+mode, targetEnv+"="+strconv.Itoa(pid))
	if skip {
		cmd.Env = append(cmd.Env, skipEnv+"=1")
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("inspect helper hung (target pid %d in state %s)", pid, state(t, pid))
	}
	if err != nil {
		t.Fatalf("inspect helper: %v", err)
	}
	return strings.TrimSpace(string(out))
}
