// Package kernel asks the running Linux kernel what it does with a seccomp
// BPF program, so that tests can check that the kernel agrees with fencer's
// BPF interpreter and compiler.
//
// Load asks whether the kernel accepts a program. Probe installs a program
// and makes syscalls under it, and reports the kernel's verdict for each,
// without letting any of them take effect.
//
// # How a call is probed
//
// Probe re-executes the current binary (os.Executable: the fencer binary
// and test binaries alike link this package) with FENCER_KERNEL_PROBE=1 in
// its environment. A C constructor linked into every such binary sees the
// variable before the Go runtime starts, runs the probes and exits, so the
// Go runtime never starts in that process and never shares it with a
// seccomp filter. Without the variable the constructor returns at once.
//
// Each call runs in a child process forked for it, on a second thread of
// that child (the probe thread), which sets no_new_privs and installs, for
// itself only, first a "shield" filter and then the program under test,
// and then makes the call: with the syscall instruction, or with int $0x80
// for Call.Compat. The shield answers every syscall with
// SECCOMP_RET_USER_NOTIF except two of the prober's own: the installation
// of the program and a futex wake, each matched on its number, arguments
// and the address of its syscall instruction, which no probed call can
// share. The kernel runs every installed filter and keeps the action of
// highest precedence:
//
//	KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW
//
// with the newest filter's data among equal actions. So a call the program
// allows (or logs) is caught by the shield: it blocks in the kernel and the
// child's unfiltered main thread receives the notification, with the
// seccomp_data the kernel built, instead of the call running. Every stronger
// action of the program wins over the shield and is observed directly: the
// return value for ERRNO, a SIGSYS handler's siginfo for TRAP, the death of
// the probe thread alone for KILL_THREAD, the death of the child by SIGSYS
// for KILL_PROCESS. Nothing the program allows ever executes.
//
// The shield notifies rather than failing calls with ERRNO(4095), which
// would rank above LOG and ALLOW too: that way every errno the program can
// return, 4095 and the larger values the kernel caps to 4095 included, stays
// distinct from Passed, and fewer actions hide behind the shield.
//
// # Calls the kernel does not filter
//
// All of the above holds for calls the kernel filters at all. Linux exempts
// a few syscalls from seccomp altogether (seccomp_uprobe_exception in
// kernel/seccomp.c, through the filters' action cache): on x86_64 the
// native uretprobe (335, exempt since Linux 6.14 and in some stable updates
// of earlier kernels) and uprobe (336, Linux 6.18), which the kernel plants
// in the processes it probes with uprobes. For these no filter runs, neither the
// program nor the shield: the call executes, whatever the program says.
// The exemption depends only on the arch and the number. So, before it
// probes a call for an arch and number it has not met before, Probe checks
// whether the kernel filters it: a throwaway child installs a filter that
// kills the process on every syscall and makes the call with all arguments
// zero; unless that kills it, the kernel ran no filter. Such a call is then
// reported as allowed with Verdict.Unfiltered set, and never probed with its
// arguments. The answer is remembered for the life of the process. The
// check is the one place where a probe may let a call run: an exempt one,
// with zero arguments (uretprobe and uprobe made outside their trampolines
// only fail: the kernel raises SIGILL, or returns ENXIO).
//
// A prober that already runs under a seccomp filter (in a container, say)
// meets that filter on every probe too. Then each call is first probed under
// a program that allows everything, and a call that does not pass that way
// fails with an error matching ErrUnsupported instead of a mixed verdict.
//
// A probe costs a fork and a thread: about 150 µs on an idle machine, so
// thousands of calls take well under a second.
//
// # Limits
//
// Allow and Log cannot be told apart: both are reported as Allow with
// Passed set. The shield also hides the actions that rank below
// USER_NOTIF: SECCOMP_RET_TRACE (which without a tracer fails the call with
// ENOSYS) and unknown action values between USER_NOTIF and ALLOW (which the
// kernel treats as KILL_PROCESS) would read as Passed; Probe therefore
// refuses programs with a constant return (RET K) of such a value, and
// programs that compute one (RET A) must not. A program returning
// SECCOMP_RET_USER_NOTIF has no listener of its own, and the kernel fails
// such a call with ENOSYS, reported as Errno(38), exactly as without the
// shield.
//
// Probes run on linux/amd64 with cgo only; elsewhere every function returns
// an error matching ErrUnsupported. No privilege is needed: no_new_privs
// suffices. The kernel needs seccomp user notifications (Linux 5.0).
package kernel

import (
	"errors"

	"github.com/fencer-dev/fencer/internal/policy"
)

// Call is one probed syscall as the filter will see it.
type Call struct {
	// Nr is the raw syscall number, which may have the x32 bit
	// (0x40000000) set: seccomp_data.nr receives it unchanged.
	Nr int32
	// Args are the six arguments, loaded whole into the registers. For
	// calls the filter lets through, Probe checks that the kernel saw
	// exactly these (and Nr, and the arch).
	Args [6]uint64
	// Compat makes the call with int $0x80 on x86_64, as an i386 process
	// would: seccomp_data.arch is then AUDIT_ARCH_I386. Args are still
	// loaded whole into the 64-bit registers (rbx, rcx, rdx, rsi, rdi, rbp),
	// and the kernel hands them to the filter untruncated: a 64-bit process
	// can show an i386 filter arguments with high bits set, which a real
	// i386 process cannot. Compat calls fail with ErrNoCompat where the
	// kernel cannot run i386 syscalls.
	Compat bool
}

// Verdict is what the kernel did with one call.
type Verdict struct {
	// Action is the action the kernel took: Allow (also when the program
	// said Log: the two are indistinguishable here), Errno(n), Trap(data),
	// KillThread or KillProcess.
	Action policy.Action
	// Passed is set when the filter let the call through (allow or log).
	// The call still did not run.
	Passed bool
	// Unfiltered is set when the kernel runs no seccomp filter at all for
	// the call's arch and number (see "Calls the kernel does not filter"
	// in the package doc): the call passes whatever the program says, so
	// Action is Allow and Passed is set, but the program was never asked.
	// A comparison with what a program says must skip such calls.
	Unfiltered bool
}

// ErrUnsupported is matched (errors.Is) by the errors that say probes
// cannot run in this environment: a build without cgo or for another
// platform, a kernel without seccomp user notifications (Linux 5.0), a
// binary that cannot be re-executed, or a prober that already runs under a
// seccomp filter deciding the call. Any other error from Supported means
// the probes are broken.
var ErrUnsupported = errors.New("kernel probes are not supported here")

// envError is an error that matches ErrUnsupported.
type envError struct{ error }

func (e envError) Is(target error) bool { return target == ErrUnsupported }
func (e envError) Unwrap() error        { return e.error }

// ErrNoCompat is returned (wrapped) by Probe for Compat calls on a kernel
// or machine that cannot run i386 syscalls (no CONFIG_IA32_EMULATION, or
// ia32_emulation=0).
var ErrNoCompat = errors.New("kernel: this kernel does not run i386 syscalls (int $0x80)")
