package procseccomp

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/bpf"
)

const sleepBin = "/bin/sleep"

func TestProgramsAreValid(t *testing.T) {
	for _, p := range []bpf.Program{oldProg(), newProg(), allowProg()} {
		if err := bpf.Validate(p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFiltersOfFilteredProcess(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")

	st, err := ReadStatus(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Status{Mode: ModeFilter, Filters: 2, NoNewPrivs: true}); st != want {
		t.Fatalf("ReadStatus = %+v, want %+v", st, want)
	}

	progs, err := Filters(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	want := []bpf.Program{newProg(), oldProg()} // newest first
	if len(progs) != len(want) {
		t.Fatalf("Filters returned %d programs, want %d: %v", len(progs), len(want), progs)
	}
	for i := range want {
		if pc, eq := Compare(progs[i], want[i]); !eq {
			t.Errorf("filter %d differs at instruction %d:\ngot\n%s\nwant\n%s", i, pc,
				bpf.Disassemble(progs[i], nativeOrder(), nil), bpf.Disassemble(want[i], nativeOrder(), nil))
		}
	}
	assertRunning(t, c.pid)

	start, err := StartTime(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Second / time.Duration(clockTicks())
	if start.Before(c.before.Add(-tick)) || start.After(c.after) {
		t.Errorf("StartTime = %v, want in [%v, %v]", start, c.before.Add(-tick), c.after)
	}
	t.Logf("StartTime %v; forked between %v and %v (CLK_TCK %d)",
		start.Format(time.StampMicro), c.before.Format(time.StampMicro), c.after.Format(time.StampMicro), clockTicks())

	// Still the same sleep, still sleeping, and it dies of SIGTERM.
	assertRunning(t, c.pid)
	c.terminate(t)
}

func TestFiltersOfUnfilteredProcess(t *testing.T) {
	needRoot(t)
	c := start(t, exec.Command(sleepBin, "30"), sleepBin)
	st, err := ReadStatus(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != ModeDisabled || st.NoNewPrivs {
		t.Fatalf("ReadStatus = %+v, want mode 0 without NoNewPrivs", st)
	}
	progs, err := Filters(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	if progs == nil || len(progs) != 0 {
		t.Fatalf("Filters = %#v, want an empty list", progs)
	}
	c.terminate(t)
}

func TestExitedProcess(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if _, err := ReadStatus(pid); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ReadStatus: %v, want ESRCH", err)
	}
	if _, err := StartTime(pid); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("StartTime: %v, want ESRCH", err)
	}
	_, err := Filters(pid)
	if !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Filters: %v, want ESRCH", err)
	}
	if want := fmt.Sprintf("read seccomp filters of pid %d: ", pid); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Filters: %v, want it to start %q", err, want)
	}
	t.Logf("exited: %v", err)
}

func TestZombie(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")
	// Make it exit, but do not reap it.
	if err := unix.Kill(c.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, c.pid, "Z")
	st, err := ReadStatus(c.pid)
	t.Logf("zombie status: %+v, %v", st, err)
	_, err = Filters(c.pid)
	if !errors.Is(err, syscall.ESRCH) || !strings.Contains(err.Error(), "zombie") {
		t.Fatalf("Filters of a zombie: %v, want ESRCH naming the zombie", err)
	}
	t.Logf("zombie: %v", err)
	if ws := c.wait(t, 5*time.Second); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("zombie reaped with %v, want killed by SIGKILL", ws)
	}
}

// A process stopped by job control is inspected and stays stopped.
func TestStoppedProcessStaysStopped(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")
	if err := unix.Kill(c.pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, c.pid, "T")
	progs, err := Filters(c.pid)
	if err != nil || len(progs) != 2 {
		t.Fatalf("Filters = %d programs, %v", len(progs), err)
	}
	// PTRACE_DETACH wakes it; it goes back into the group-stop.
	waitState(t, c.pid, "T")
	for i := 0; i < 100; i++ {
		if s := state(t, c.pid); s != "T" {
			t.Fatalf("state after inspecting a stopped process: %s, want T", s)
		}
		time.Sleep(time.Millisecond)
	}
	assertNotTraced(t, c.pid)
	if err := unix.Kill(c.pid, unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitState(t, c.pid, "SR")
	assertRunning(t, c.pid)
	c.terminate(t)
}

// Many inspections, some at once, never leave the process stopped.
func TestFiltersRepeatedly(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")
	want := []bpf.Program{newProg(), oldProg()}
	check := func(progs []bpf.Program, err error) error {
		if err != nil {
			return err
		}
		if len(progs) != 2 {
			return fmt.Errorf("%d programs", len(progs))
		}
		for i := range want {
			if pc, eq := Compare(progs[i], want[i]); !eq {
				return fmt.Errorf("filter %d differs at %d", i, pc)
			}
		}
		return nil
	}
	// One at a time, checking the state after each.
	for i := 0; i < 50; i++ {
		if err := check(Filters(c.pid)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		assertRunning(t, c.pid)
	}
	// 200 from 16 goroutines at once.
	exits := threadExits.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 200; i += 16 {
				if err := check(Filters(c.pid)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := threadExits.Load() - exits; n != 0 {
		t.Errorf("%d inspections ended by exiting the thread, want clean detaches", n)
	}
	assertRunning(t, c.pid)
	c.terminate(t)
}

// A signal that arrives while the process is traced reaches it.
func TestSignalIsPassedOn(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(testBinaryPath(t))
	cmd.Env = append(os.Environ(), childEnv+"=install", argvEnv+"="+strings.Join([]string{"/bin/sh", "-c",
		`trap 'echo usr1' USR1; echo ready; while :; do sleep 1 & wait $!; done`}, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, cmd, "/bin/sh")
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if l != want {
				t.Fatalf("shell said %q, want %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("shell did not say %q (state %s)", want, state(t, c.pid))
		}
	}
	expect("ready")

	// Once attached, and before PTRACE_INTERRUPT, send SIGUSR1 and wait
	// for the shell to enter signal-delivery-stop (state t).
	afterSeize = func(pid int) {
		unix.Kill(pid, unix.SIGUSR1)
		for i := 0; i < 5000 && state(t, pid) != "t"; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	defer func() { afterSeize = nil }()
	passed := signalsPassedOn.Load()
	for i := 0; i < 5; i++ {
		progs, err := Filters(c.pid)
		if err != nil || len(progs) != 2 {
			t.Fatalf("Filters = %d programs, %v", len(progs), err)
		}
		expect("usr1")
	}
	if n := signalsPassedOn.Load() - passed; n != 5 {
		t.Errorf("%d signals passed on, want 5", n)
	}
	assertNotTraced(t, c.pid)
	c.terminate(t)
}

// A process already traced by another tracer is reported as such.
func TestAlreadyTraced(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")
	seized := make(chan int)
	release := make(chan struct{})
	go onTracerThread(func() bool {
		if err := unix.PtraceSeize(c.pid); err != nil {
			t.Error(err)
			close(seized)
			return true
		}
		seized <- unix.Gettid()
		<-release
		return false // the thread's exit detaches
	})
	tid, ok := <-seized
	if !ok {
		t.FailNow()
	}
	f, err := statusFields(c.pid, "TracerPid")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TracerPid %s; tracing thread %d, this process %d", f["TracerPid"], tid, os.Getpid())

	_, err = Filters(c.pid)
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "already traced by pid "+strconv.Itoa(tid)) {
		t.Errorf("Filters of a traced process: %v, want ErrNotPermitted naming tracer %d", err, tid)
	}
	t.Logf("traced: %v", err)
	close(release)
	if err := awaitDetached(c.pid, tid); err != nil {
		t.Fatal(err)
	}
	assertRunning(t, c.pid)
	if progs, err := Filters(c.pid); err != nil || len(progs) != 2 {
		t.Fatalf("Filters after the other tracer left = %d programs, %v", len(progs), err)
	}
	c.terminate(t)
}

// When the process does not stop, the tracing thread exits, the kernel
// detaches, and the process runs on.
func TestNoStopDetachesByThreadExit(t *testing.T) {
	needRoot(t)
	c := startFiltered(t, nil, sleepBin, "30")
	skipInterrupt, stopTimeout = true, 100*time.Millisecond
	defer func() { skipInterrupt, stopTimeout = false, 5*time.Second }()
	exits := threadExits.Load()
	_, err := Filters(c.pid)
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("Filters: %v, want a timeout", err)
	}
	t.Logf("no stop: %v", err)
	if threadExits.Load() != exits+1 {
		t.Errorf("the tracing thread did not exit")
	}
	assertRunning(t, c.pid)
	skipInterrupt, stopTimeout = false, 5*time.Second
	if progs, err := Filters(c.pid); err != nil || len(progs) != 2 {
		t.Fatalf("Filters afterwards = %d programs, %v", len(progs), err)
	}
	c.terminate(t)
}

// A process killed while stopped for inspection is handed to its parent.
func TestKilledWhileInspected(t *testing.T) {
	needRoot(t)
	// The filtered process is a child of the shell, not of the test.
	cmd := exec.Command(testBinaryPath(t))
	cmd.Env = append(os.Environ(), childEnv+"=install", argvEnv+"="+strings.Join([]string{"/bin/sh", "-c",
		`/bin/sleep 30 & echo $!; wait $!; echo "status $?"`}, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, cmd, "/bin/sh")
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatal("no pid from the shell")
	}
	pid, err := strconv.Atoi(sc.Text())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasSuffix(exe, "/sleep") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell did not start sleep")
		}
		time.Sleep(time.Millisecond)
	}
	afterStop = func(pid int) { unix.Kill(pid, unix.SIGKILL) }
	defer func() { afterStop = nil }()
	_, err = Filters(pid)
	if !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Filters of a process killed meanwhile: %v, want ESRCH", err)
	}
	t.Logf("killed: %v", err)
	done := make(chan string, 1)
	go func() {
		if sc.Scan() {
			done <- sc.Text()
		}
		close(done)
	}()
	select {
	case l := <-done:
		if l != "status 137" {
			t.Fatalf("shell said %q, want status 137", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the shell was not told its child died (child state %s)", state(t, pid))
	}
	c.wait(t, 10*time.Second)
}

// Without privilege Filters says so at once, whichever check refuses.
func TestUnprivileged(t *testing.T) {
	needRoot(t)
	rootTarget := startFiltered(t, nil, sleepBin, "30")
	nobodyTarget := startFiltered(t, nobody, sleepBin, "30")
	for _, tc := range []struct {
		name string
		mode string
		cred *syscall.Credential
		pid  int
		skip bool
	}{
		{"nobody, root's process", "inspect", nobody, rootTarget.pid, false},
		{"nobody, root's process, kernel refuses PTRACE_SEIZE", "inspect", nobody, rootTarget.pid, true},
		{"nobody, nobody's process", "inspect", nobody, nobodyTarget.pid, false},
		{"nobody, nobody's process, kernel refuses PTRACE_SECCOMP_GET_FILTER", "inspect", nobody, nobodyTarget.pid, true},
		{"root under seccomp", "filtered-inspect", nil, rootTarget.pid, false},
		{"root under seccomp, kernel refuses PTRACE_SECCOMP_GET_FILTER", "filtered-inspect", nil, rootTarget.pid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := inspectAs(t, tc.mode, tc.cred, tc.pid, tc.skip)
			t.Log(out)
			if !strings.HasPrefix(out, "notpermitted: read seccomp filters of pid ") {
				t.Fatalf("got %q, want ErrNotPermitted", out)
			}
			assertRunning(t, tc.pid)
		})
	}
	rootTarget.terminate(t)
	nobodyTarget.terminate(t)
}

func TestCompare(t *testing.T) {
	a := oldProg()
	b := append(bpf.Program(nil), a...)
	if pc, eq := Compare(a, b); !eq || pc != -1 {
		t.Errorf("Compare(equal) = %d, %v", pc, eq)
	}
	b[2].K++
	if pc, eq := Compare(a, b); eq || pc != 2 {
		t.Errorf("Compare(differ at 2) = %d, %v", pc, eq)
	}
	if pc, eq := Compare(a, a[:3]); eq || pc != 3 {
		t.Errorf("Compare(prefix) = %d, %v", pc, eq)
	}
	if pc, eq := Compare(nil, bpf.Program{}); !eq || pc != -1 {
		t.Errorf("Compare(empty) = %d, %v", pc, eq)
	}
}

func TestParseStat(t *testing.T) {
	st, err := parseStat("123 (a) b) (c) S 1 123 123 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 4242 1000 10 18446744073709551615\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "a) b) (c" || st.state != 'S' || st.startTime != 4242 {
		t.Fatalf("parseStat = %+v", st)
	}
	if _, err := parseStat("123 (x) S 1 2"); err == nil {
		t.Fatal("parseStat accepted a short line")
	}
}

func TestReadStatusSelf(t *testing.T) {
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Filters < -1 {
		t.Fatalf("ReadStatus(self) = %+v", st)
	}
	if _, err := ReadStatus(0); err == nil {
		t.Fatal("ReadStatus(0) succeeded")
	}
}

func TestClockTicks(t *testing.T) {
	if hz := clockTicks(); hz != 100 {
		t.Errorf("AT_CLKTCK = %d; Linux uses 100 on every architecture Go supports", hz)
	}
	// StartTime of this process matches its own idea of when it started
	// to within a tick plus scheduling.
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 0 || d > time.Hour {
		t.Errorf("this process started %v ago?", d)
	}
	if got := ticksToDuration(12345, 100); got != 123450*time.Millisecond {
		t.Errorf("ticksToDuration = %v", got)
	}
}

func testBinaryPath(t *testing.T) string { return testBinary(t, false) }
