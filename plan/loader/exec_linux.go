//go:build linux

package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/policy"
	"golang.org/x/sys/unix"
)

// readFilterFile reads a filter file with plain syscalls (open, fstat,
// read, close), so that the loader's syscalls stay few and known. It
// refuses anything but a regular file, and files longer than the longest
// program the kernel accepts.
func readFilterFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open filter file: %w", &fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat filter file: %w", &fs.PathError{Op: "fstat", Path: path, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("filter file %s is not a regular file", path)
	}
	buf := make([]byte, maxFilterBytes+1)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read filter file: %w", &fs.PathError{Op: "read", Path: path, Err: err})
		}
		if m == 0 {
			break
		}
		n += m
	}
	if n > maxFilterBytes {
		return nil, fmt.Errorf("filter file %s is longer than %d bytes, the longest program the kernel accepts (%d instructions)",
			path, maxFilterBytes, maxFilterBytes/8)
	}
	return buf[:n], nil
}

// exec installs the filter and execs the command. It returns only when
// something failed before the filter was installed; once it is installed,
// a failing execve ends the process with status ExitCannotExec.
//
// # No syscall between the filter and execve
//
// The filter applies to the calling thread from the moment seccomp returns,
// to every syscall that thread makes, the loader's own included. So the
// loader prepares everything first (the filter in the kernel's layout,
// NUL-terminated path, argv and envp, the message for a failed execve), and
// then makes the two calls back to back with syscall.RawSyscall from one
// //go:nosplit function: a raw syscall does not tell the scheduler, nothing
// in between can grow the stack or allocate, and the thread is locked
// (runtime.LockOSThread, never undone) so no other goroutine runs on it.
// The garbage collector is off from the start (debug.SetGCPercent(-1), no
// memory limit), so no collection can ask this goroutine to stop.
//
// With the exec-once gate (see Loader), the execve waits in the kernel for
// the helper's answer, and the loader's thread keeps its P while it does:
// the helper, started before the filter is installed, runs on another
// thread with a P of its own (GOMAXPROCS is at least 2 from then on) and
// makes raw syscalls only, so it never waits for the scheduler either. It
// learns the listener's fd from memory the loader's thread writes between
// its two syscalls, an atomic store and not a syscall.
//
// # Signals
//
// What remains is a signal delivered to the thread between the two calls:
// its handler would run under the new filter and, whatever it does, return
// through rt_sigreturn, which the policy may forbid; the Go runtime itself
// sends such signals (SIGURG, to preempt a goroutine that runs for more
// than 10ms), and signals sent to the process, such as systemd's SIGTERM,
// prefer the main thread. Three ways of closing that window were weighed:
//
//   - Blocking every signal on the thread (rt_sigprocmask) before the
//     filter: execve keeps the mask, so the service would start with every
//     signal blocked, deaf to SIGTERM, and unblocking them again before
//     execve is a syscall under the filter, after which any signal that
//     became pending while blocked is delivered at once, in the window.
//   - Turning off asynchronous preemption: GODEBUG=asyncpreemptoff=1 would
//     have to be in the loader's environment, which the command inherits;
//     a //go:debug directive cannot set it (the go command accepts only
//     the settings of internal/godebugs, and asyncpreemptoff is not one);
//     and it does nothing for signals from outside.
//   - Resetting every caught signal to SIG_DFL before the filter, which is
//     what execve does to caught signals anyway and what the Go runtime
//     does in a forked child before exec (clearSignalHandlers). A signal
//     that arrives afterwards is handled by the kernel alone, without
//     running any code in the process, so no syscall is made under the
//     filter: SIGTERM and SIGHUP end the loader as they would have ended
//     the service, SIGURG and SIGCHLD are discarded, a stop signal stops
//     it until SIGCONT. The command sees exactly what it would after
//     execve. Signals ignored (SIG_IGN) stay ignored, as execve keeps them.
//
// The loader takes the third. It closes the window completely and needs
// nothing from the policy beyond execve itself, which Exec checks first
// with the interpreter on the very arguments it passes. It does not
// restore what the Go runtime took away before main ran: a signal ignored
// when the loader started but caught by the runtime (SIGPIPE above all,
// which systemd ignores in services by default) reaches the command with
// its default action. Only SIGPIPE matters under systemd, which resets
// every other disposition before it starts a service, so the caller says
// what SIGPIPE should be (Loader.IgnoreSIGPIPE). The signal mask is left as
// the runtime keeps it on its threads: the one the loader was started with,
// less the signals the runtime must receive; systemd starts services with
// an empty mask, so the command gets an empty mask too.
//
// # RLIMIT_NOFILE
//
// The syscall package raises the soft RLIMIT_NOFILE to the hard limit at
// startup and puts it back only for the programs it starts itself. Its
// Exec does so before calling execve; the loader calls it with an empty
// path, which execve refuses with ENOENT after the limit is back, since the
// package offers no other way to learn the original value.
func (p *prepared) exec() error {
	runtime.LockOSThread() // never unlocked: the filter is on this thread only
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(math.MaxInt64)

	filter := make([]unix.SockFilter, len(p.prog))
	for i, in := range p.prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	path, err := syscall.BytePtrFromString(p.path)
	if err != nil {
		return loaderErr(ExitError, "command path %q: %w", p.path, err)
	}
	argv, err := syscall.SlicePtrFromStrings(p.argv)
	if err != nil {
		return loaderErr(ExitError, "arguments: %w", err)
	}
	envv, err := syscall.SlicePtrFromStrings(p.env)
	if err != nil {
		return loaderErr(ExitError, "environment: %w", err)
	}
	failMsg := []byte("fencer exec: execve " + p.path + " failed after the filter was installed, errno ")

	// p.arch is this machine's (HostArch): execve is the number the
	// loader's own exec uses, and the syscall tables stay unbuilt.
	act, err := execveVerdict(p.prog, p.arch, unix.SYS_EXECVE, [6]uint64{
		uint64(uintptr(unsafe.Pointer(path))),
		uint64(uintptr(unsafe.Pointer(&argv[0]))),
		uint64(uintptr(unsafe.Pointer(&envv[0]))),
	})
	if err != nil {
		return loaderErr(ExitError, "checking the filter's verdict on execve: %w", err)
	}
	if act.Kind != policy.Allow && act.Kind != policy.Log && act.Kind != policy.ExecOnce {
		return loaderErr(ExitError, "the filter answers %v to execve of %s: the command could never start under it; the policy must name execve in no rule (exec once) or allow it", act, p.path)
	}
	// The gate: a program that can return USER_NOTIF gets its listener,
	// even where the loader's own execve is allowed outright, so that the
	// kernel never meets a USER_NOTIF without one fencer installed.
	var gate *execGate
	var listener *atomic.Int32
	var flags uintptr
	if act.Kind == policy.ExecOnce || hasExecOnce(p.prog) {
		if err := notifSupported(); err != nil {
			return &Error{Code: ExitError, Err: err}
		}
		gate = &execGate{
			tid: uint32(unix.Gettid()), nr: unix.SYS_EXECVE, audit: p.arch.Audit,
			args: [3]uint64{
				uint64(uintptr(unsafe.Pointer(path))),
				uint64(uintptr(unsafe.Pointer(&argv[0]))),
				uint64(uintptr(unsafe.Pointer(&envv[0]))),
			},
			noContinue: []byte("fencer exec: this kernel cannot let the loader's own execve past exec once: it refuses SECCOMP_USER_NOTIF_FLAG_CONTINUE, which needs Linux 5.5; " +
				"the service does not start. Allow execve in the policy to run it here, without exec once\n"),
			broken: []byte("fencer exec: the exec-once listener failed; the service does not start\n"),
		}
		gate.listener.Store(-1)
		listener, flags = &gate.listener, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}

	restoreNofile()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return loaderErr(ExitError, "prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if err := resetSignals(p.ignoreSIGPIPE); err != nil {
		return loaderErr(ExitError, "resetting signal handlers: %w", err)
	}
	if gate != nil {
		if err := untraceable(); err != nil {
			return &Error{Code: ExitError, Err: err}
		}
		gate.startHelper()
	}
	errno := installAndExec(fprog, flags, listener, path, &argv[0], &envv[0], failMsg)
	runtime.KeepAlive(filter)
	runtime.KeepAlive(gate)
	if gate != nil {
		return &Error{Code: ExitError, Err: installError(errno)}
	}
	return loaderErr(ExitError, "the kernel refused the filter (seccomp SECCOMP_SET_MODE_FILTER): %w", errno)
}

// restoreNofile puts back the soft RLIMIT_NOFILE the syscall package
// raised at startup: syscall.Exec does before it calls execve, which fails
// on the empty path without any other effect.
func restoreNofile() {
	_ = syscall.Exec("", nil, nil)
}

// kernelSigaction is large enough for the kernel's struct sigaction on
// every architecture fencer supports; the handler comes first on all of
// them, and the loader only ever sets the handler, SIG_DFL or SIG_IGN,
// with every other field zero.
type kernelSigaction struct {
	handler uintptr
	_       [4]uint64
}

const (
	sigDFL = 0
	sigIGN = 1
	// sigsetSize is sizeof(sigset_t) as rt_sigaction takes it: 64 signals.
	sigsetSize = 8
	numSig     = 64
)

// resetSignals sets every caught signal back to SIG_DFL, leaves ignored
// ones ignored, and sets SIGPIPE to SIG_IGN or SIG_DFL as asked.
func resetSignals(ignoreSIGPIPE bool) error {
	for sig := uintptr(1); sig <= numSig; sig++ {
		if sig == uintptr(unix.SIGKILL) || sig == uintptr(unix.SIGSTOP) {
			continue
		}
		var old kernelSigaction
		if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(&old)), sigsetSize, 0, 0); e != 0 {
			return fmt.Errorf("rt_sigaction(%d): %w", sig, e)
		}
		want := old.handler
		switch {
		case sig == uintptr(unix.SIGPIPE) && ignoreSIGPIPE:
			want = sigIGN
		case sig == uintptr(unix.SIGPIPE):
			want = sigDFL
		case old.handler != sigIGN:
			want = sigDFL
		}
		if want == old.handler {
			continue
		}
		act := kernelSigaction{handler: want}
		if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&act)), 0, sigsetSize, 0, 0); e != 0 {
			return fmt.Errorf("rt_sigaction(%d): %w", sig, e)
		}
	}
	return nil
}

// installAndExec installs fprog on the calling thread with the given
// flags and execs path. With SECCOMP_FILTER_FLAG_NEW_LISTENER it stores
// the listener's fd in listener, for the exec-once helper, before it calls
// execve. It returns the errno of a refused installation; once the filter
// is installed it never returns: a failing execve writes failMsg and the
// errno's number to stderr and ends the process with
// ExitCannotExec, with raw syscalls only, which the filter may kill
// instead (the command does not run either way).
//
// It must not grow the stack nor call into the scheduler between the two
// syscalls, hence go:nosplit and raw syscalls only (the atomic store is
// an instruction, not a call, or a nosplit one).
//
//go:nosplit
func installAndExec(fprog *unix.SockFprog, flags uintptr, listener *atomic.Int32, path *byte, argv, envv **byte, failMsg []byte) syscall.Errno {
	fd, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(fprog)))
	if e == unix.ENOSYS && flags == 0 {
		// Linux before 3.17: the same filter through prctl.
		_, _, e = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(fprog)), 0, 0, 0)
	}
	if e != 0 {
		return e
	}
	if listener != nil {
		listener.Store(int32(fd))
	}
	_, _, e = syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)), uintptr(unsafe.Pointer(envv)))
	var digits [24]byte
	i := len(digits) - 1
	digits[i] = '\n'
	for n := uint(e); ; n /= 10 {
		i--
		digits[i] = byte('0' + n%10)
		if n < 10 {
			break
		}
	}
	syscall.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&failMsg[0])), uintptr(len(failMsg)))
	syscall.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&digits[i])), uintptr(len(digits)-i))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, ExitCannotExec, 0, 0)
	}
}
