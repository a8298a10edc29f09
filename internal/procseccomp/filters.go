package procseccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// ptraceSeccompGetFilter is PTRACE_SECCOMP_GET_FILTER (linux/ptrace.h).
const ptraceSeccompGetFilter = 0x420c

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability sets.
const capSysAdmin = 21

// maxFilters bounds the filters read from one thread. The kernel limits
// the instructions of all filters attached to a thread to 32768, counting
// 4 more for each filter, so no thread carries more than 6553 filters.
const maxFilters = 1 << 13

// Tunables and counters for tests.
var (
	// stopTimeout bounds the wait for the process to enter a
	// ptrace-stop. A thread in uninterruptible sleep (state D) stops only
	// when its system call returns.
	stopTimeout = 5 * time.Second
	// detachTimeout bounds the wait for the kernel to detach the
	// process when a tracing thread exits.
	detachTimeout = 5 * time.Second
	// skipPrecheck makes Filters attach even when it can tell the kernel
	// will refuse, to reach the kernel's own refusals.
	skipPrecheck bool
	// signalsPassedOn counts signals Filters intercepted (the process
	// was in signal-delivery-stop) and handed back on detaching.
	signalsPassedOn atomic.Int64
	// threadExits counts inspections that ended by exiting the tracing
	// thread rather than by PTRACE_DETACH.
	threadExits atomic.Int64

	// Test hooks: afterSeize runs on the tracing thread once attached,
	// afterStop once the tracee is stopped; skipInterrupt leaves out
	// PTRACE_INTERRUPT, so the tracee never stops.
	afterSeize, afterStop func(pid int)
	skipInterrupt         bool
)

// Filters returns the seccomp filters of the thread pid names (for a
// process ID, its main thread), newest first: index 0 is the most recently
// installed filter, the one the kernel runs first. It returns an empty
// list, and no error, when the thread has no filters (Mode is not
// ModeFilter in ReadStatus).
//
// The kernel returns filters only through ptrace, to a tracer holding
// CAP_SYS_ADMIN that is not itself under seccomp, and only while the
// tracee is in a ptrace-stop. Filters therefore attaches with
// PTRACE_SEIZE, which sends no signal, stops the thread with
// PTRACE_INTERRUPT for the moment it takes to copy the programs, and
// detaches, handing back any signal that arrived meanwhile; a process
// that was stopped (state T) stays stopped. If a clean detach is not
// possible (the thread did not stop within stopTimeout, or was killed
// while stopped), the tracing OS thread exits, which makes the kernel
// detach, and Filters returns once the process is no longer traced.
//
// When this process may not read the filters, the error matches
// ErrNotPermitted; missing CAP_SYS_ADMIN and running under seccomp are
// found before the process is touched. When the kernel cannot return
// filters, the error matches ErrUnsupported. A process that does not
// exist, has exited (a zombie included) or exits meanwhile gives an error
// matching syscall.ESRCH.
//
// Filters serialises calls for the same pid. The caller should not wait
// (wait4, waitid, os.Process.Wait) for the same process meanwhile: the
// kernel reports a traced process's stops to any waiter in the tracing
// process, whatever options it passes, so such a waiter receives the
// stop (os.Process.Wait returns "stop signal: trace/breakpoint trap" and
// takes the process for done). Filters itself copes with that. If pid is
// a child of this process and exits while it is inspected, Filters reaps
// it.
func Filters(pid int) ([]bpf.Program, error) {
	progs, err := filters(pid)
	if err != nil {
		return nil, fmt.Errorf("read seccomp filters of pid %d: %w", pid, err)
	}
	return progs, nil
}

func filters(pid int) ([]bpf.Program, error) {
	st, err := readStatus(pid)
	if err != nil {
		return nil, err
	}
	if st.Mode != ModeFilter {
		return []bpf.Program{}, nil
	}
	defer lockPID(pid)()

	var (
		progs []bpf.Program
		t     = &tracer{pid: pid}
	)
	onTracerThread(func() (clean bool) {
		t.tid = unix.Gettid()
		progs, err = t.run()
		if t.attached {
			threadExits.Add(1)
		}
		return !t.attached
	})
	if t.attached {
		if derr := awaitDetached(pid, t.tid); derr != nil {
			return nil, errors.Join(err, derr)
		}
	}
	return progs, err
}

// onTracerThread runs f on an OS thread of its own, locked to it, other
// than the main thread. When f reports it did not leave the thread clean
// (it may still trace a process), the thread exits once f returns, and
// the kernel detaches every tracee of an exiting thread (exit_ptrace): it
// resumes a stopped one and drops a stop requested but not yet reached.
// The main thread is avoided because the Go runtime never ends it: a
// goroutine that exits locked to it leaves it parked, still tracing.
func onTracerThread(f func() (clean bool)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// While this goroutine holds the main thread, any other
			// goroutine runs elsewhere.
			onTracerThread(f)
			runtime.UnlockOSThread()
			return
		}
		if f() {
			runtime.UnlockOSThread()
		}
		// Otherwise end locked, which ends the thread.
	}()
	<-done
}

// awaitDetached waits until the thread tid of this process, having exited,
// no longer traces pid.
func awaitDetached(pid, tid int) error {
	deadline := time.Now().Add(detachTimeout)
	for {
		f, err := statusFields(pid, "TracerPid")
		if err != nil || f["TracerPid"] != strconv.Itoa(tid) {
			return nil // gone, or no longer traced by tid
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the process is still traced by thread %d of this process after %v", tid, detachTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// tracer is one inspection, run on one locked OS thread.
type tracer struct {
	pid, tid int
	attached bool // PTRACE_SEIZE succeeded and the tracee was not yet released
	stopped  bool // the tracee is in a ptrace-stop
	sig      int  // the signal to hand back on detaching (signal-delivery-stop)
}

func (t *tracer) run() (progs []bpf.Program, err error) {
	if !skipPrecheck {
		if err := precheck(t.pid); err != nil {
			return nil, err
		}
	}
	if err := unix.PtraceSeize(t.pid); err != nil {
		return nil, seizeError(t.pid, err)
	}
	t.attached = true
	defer func() {
		if rerr := t.release(); rerr != nil {
			progs, err = nil, errors.Join(err, rerr)
		}
	}()
	if afterSeize != nil {
		afterSeize(t.pid)
	}
	if err := t.interrupt(); err != nil {
		return nil, err
	}
	if err := t.waitStop(); err != nil {
		return nil, err
	}
	if afterStop != nil {
		afterStop(t.pid)
	}
	return t.read()
}

// interrupt asks the tracee to stop (PTRACE_INTERRUPT).
func (t *tracer) interrupt() error {
	if skipInterrupt {
		return nil
	}
	err := unix.PtraceInterrupt(t.pid)
	if err == unix.ESRCH {
		return fmt.Errorf("the process exited while being inspected: %w", syscall.ESRCH)
	}
	if err != nil {
		return fmt.Errorf("ptrace(PTRACE_INTERRUPT): %w", err)
	}
	return nil
}

// waitStop waits for the tracee to enter a ptrace-stop: the one
// PTRACE_INTERRUPT asked for, a group-stop, or a signal-delivery-stop if
// a signal arrives first. Any of them lets the filters be read.
func (t *tracer) waitStop() error {
	deadline := time.Now().Add(stopTimeout)
	pause := 20 * time.Microsecond
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(t.pid, &ws, unix.WNOHANG|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err == nil && wpid == t.pid {
			switch {
			case ws.Stopped():
				t.stopped = true
				if uint32(ws)>>16 != unix.PTRACE_EVENT_STOP {
					t.sig = int(ws.StopSignal())
				}
				return nil
			case ws.Exited() || ws.Signaled():
				// Reported to us as tracer; the parent is told now.
				t.attached = false
				return fmt.Errorf("the process exited while being inspected: %w", syscall.ESRCH)
			}
		}
		// The report may have gone to another waiter in this process;
		// PTRACE_GETSIGINFO succeeds exactly when the tracee is in a
		// ptrace-stop.
		if signo, code, err := getSiginfo(t.pid); err == nil {
			t.stopped = true
			if code != signo|unix.PTRACE_EVENT_STOP<<8 {
				t.sig = int(signo)
			}
			return nil
		}
		if time.Now().After(deadline) {
			state := "unknown"
			if st, err := readStat(t.pid); err == nil {
				state = string(st.state)
			}
			return fmt.Errorf("the process did not stop for inspection within %v (state %s)", stopTimeout, state)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// getSiginfo returns si_signo and si_code of the siginfo the tracee
// stopped with.
func getSiginfo(pid int) (signo, code int32, err error) {
	var buf [128]byte // sizeof(siginfo_t)
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(pid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0)
	if e != 0 {
		return 0, 0, e
	}
	// si_signo, si_errno, si_code: three ints (on the architectures Go
	// supports but MIPS, which swaps the last two).
	return int32(binary.NativeEndian.Uint32(buf[0:])), int32(binary.NativeEndian.Uint32(buf[8:])), nil
}

// read copies every filter while the tracee is stopped.
func (t *tracer) read() ([]bpf.Program, error) {
	var progs []bpf.Program
	for i := 0; ; i++ {
		if i == maxFilters {
			return nil, fmt.Errorf("more than %d filters", maxFilters)
		}
		n, err := getFilter(t.pid, i, nil)
		if err == unix.ENOENT {
			break
		}
		if err != nil {
			return nil, getFilterError(i, err)
		}
		if n <= 0 || n > bpf.MaxInsns {
			return nil, fmt.Errorf("filter %d: the kernel reports %d instructions", i, n)
		}
		buf := make([]byte, 8*n)
		m, err := getFilter(t.pid, i, buf)
		if err != nil {
			return nil, getFilterError(i, err)
		}
		if m != n {
			return nil, fmt.Errorf("filter %d: the kernel reported %d instructions, then %d", i, n, m)
		}
		prog, err := bpf.Decode(buf, binary.NativeEndian)
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", i, err)
		}
		progs = append(progs, prog)
	}
	return kernelOrderToNewestFirst(progs), nil
}

// kernelOrderToNewestFirst puts the programs, which the kernel indexes
// oldest first, newest first. ptrace(2) and the commit that added
// PTRACE_SECCOMP_GET_FILTER say index 0 is the most recently installed
// filter, but get_nth_filter in kernel/seccomp.c has counted from the
// oldest since Linux 4.4 (it walks count-index links back from the
// newest), and that is what the kernel does. Oldest-first indexes are also
// stable while another thread of the process adds a filter with
// SECCOMP_FILTER_FLAG_TSYNC during the read.
func kernelOrderToNewestFirst(progs []bpf.Program) []bpf.Program {
	slices.Reverse(progs)
	return progs
}

// getFilter is ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, buf): it
// returns the number of instructions of filter index, and copies them
// into buf when buf is not nil.
func getFilter(pid, index int, buf []byte) (int, error) {
	var p unsafe.Pointer
	if buf != nil {
		p = unsafe.Pointer(&buf[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_PTRACE, ptraceSeccompGetFilter, uintptr(pid), uintptr(index), uintptr(p), 0, 0)
	runtime.KeepAlive(buf)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func getFilterError(i int, err error) error {
	switch err {
	case unix.EACCES:
		return fmt.Errorf("%w: the kernel returns filters only to a tracer with CAP_SYS_ADMIN (in the initial user namespace) that is not under seccomp itself: %v", ErrNotPermitted, err)
	case unix.EINVAL, unix.EIO:
		// EINVAL: seccomp_get_filter's stub (or the thread has no
		// filter, but it had one, and filters are never removed).
		// EIO: a kernel older than 4.4, which lacks the request.
		return fmt.Errorf("%w: this kernel does not return seccomp filters (built without CONFIG_CHECKPOINT_RESTORE?): ptrace(PTRACE_SECCOMP_GET_FILTER): %v", ErrUnsupported, err)
	case unix.EMEDIUMTYPE:
		return fmt.Errorf("filter %d has no classic BPF program to return: %v", i, err)
	case unix.ESRCH:
		return fmt.Errorf("the process was killed while being inspected: %w", syscall.ESRCH)
	}
	return fmt.Errorf("filter %d: ptrace(PTRACE_SECCOMP_GET_FILTER): %w", i, err)
}

// release detaches from the tracee, resuming it. It leaves t.attached set
// when it cannot, for the thread's exit to do it.
func (t *tracer) release() error {
	if t.stopped {
		_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(t.pid), 0, uintptr(t.sig), 0, 0)
		if e == 0 {
			t.attached = false
			if t.sig != 0 {
				signalsPassedOn.Add(1)
			}
			return nil
		}
		if e != unix.ESRCH {
			return fmt.Errorf("ptrace(PTRACE_DETACH): %w", e)
		}
		// ESRCH: no longer stopped, so killed meanwhile.
	}
	// Not stopped: if the tracee has exited, take the report so its
	// parent is told. Otherwise the thread's exit detaches.
	var ws unix.WaitStatus
	if wpid, err := unix.Wait4(t.pid, &ws, unix.WNOHANG|unix.WALL, nil); err == nil && wpid == t.pid && (ws.Exited() || ws.Signaled()) {
		t.attached = false
	}
	return nil
}

// precheck refuses, before stopping anything, what the kernel would
// refuse: a caller (this thread) without CAP_SYS_ADMIN or under seccomp,
// and a thread of this process.
func precheck(pid int) error {
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return fmt.Errorf("read /proc/thread-self/status: %w", err)
	}
	self := parseStatus(b, "CapEff", "Seccomp")
	capEff, err := strconv.ParseUint(self["CapEff"], 16, 64)
	if err != nil {
		return fmt.Errorf("/proc/thread-self/status: CapEff %q", self["CapEff"])
	}
	if capEff&(1<<capSysAdmin) == 0 {
		return fmt.Errorf("%w: reading seccomp filters needs CAP_SYS_ADMIN, which this process lacks (run as root)", ErrNotPermitted)
	}
	if m := self["Seccomp"]; m != "" && m != "0" {
		return fmt.Errorf("%w: this process runs under seccomp itself (mode %s), and the kernel returns filters only to a tracer that does not", ErrNotPermitted, m)
	}
	f, err := statusFields(pid, "Tgid")
	if err != nil {
		return err
	}
	if f["Tgid"] == strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("%w: it is a thread of this process, which cannot trace itself", ErrNotPermitted)
	}
	return nil
}

// seizeError explains why PTRACE_SEIZE failed.
func seizeError(pid int, err error) error {
	if err == unix.ESRCH {
		return syscall.ESRCH
	}
	if err != unix.EPERM {
		return fmt.Errorf("ptrace(PTRACE_SEIZE): %w", err)
	}
	f, ferr := statusFields(pid, "State", "TracerPid", "Tgid")
	if ferr != nil {
		return ferr
	}
	if s := f["State"]; strings.HasPrefix(s, "Z") || strings.HasPrefix(s, "X") {
		return fmt.Errorf("the process has exited and awaits its parent (%s): %w", s, syscall.ESRCH)
	}
	if tp := f["TracerPid"]; tp != "" && tp != "0" {
		who := "pid " + tp
		if n, err := strconv.Atoi(tp); err == nil {
			if comm, err := readProc(n, "comm"); err == nil {
				who += " (" + strings.TrimSpace(string(comm)) + ")"
			}
		}
		return fmt.Errorf("%w: the process is already traced by %s, and a process has one tracer at a time", ErrNotPermitted, who)
	}
	if f["Tgid"] == strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("%w: it is a thread of this process, which cannot trace itself", ErrNotPermitted)
	}
	hint := "tracing another user's process needs CAP_SYS_PTRACE"
	if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil {
		switch scope := strings.TrimSpace(string(b)); scope {
		case "0":
		case "3":
			hint = "kernel.yama.ptrace_scope is 3, which forbids every PTRACE_SEIZE until reboot"
		default:
			hint += ", and kernel.yama.ptrace_scope " + scope + " restricts even a process of the same user"
		}
	}
	return fmt.Errorf("%w: ptrace(PTRACE_SEIZE): %v (%s)", ErrNotPermitted, err, hint)
}

// Inspections of one pid run one at a time: a process has one tracer.
var (
	pidLocksMu sync.Mutex
	pidLocks   = map[int]*pidLock{}
)

type pidLock struct {
	mu   sync.Mutex
	refs int
}

// lockPID locks pid and returns the unlock function.
func lockPID(pid int) (unlock func()) {
	pidLocksMu.Lock()
	l := pidLocks[pid]
	if l == nil {
		l = &pidLock{}
		pidLocks[pid] = l
	}
	l.refs++
	pidLocksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		pidLocksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(pidLocks, pid)
		}
		pidLocksMu.Unlock()
	}
}
