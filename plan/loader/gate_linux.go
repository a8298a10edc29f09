//go:build linux

package loader

// The exec-once gate: how the loader gets its own execve past a filter
// that sends execve to a listener, and why no later execve gets past it.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/bpf"
	"golang.org/x/sys/unix"
)

// seccomp_notif and seccomp_notif_resp (linux/seccomp.h). Their layout is
// the same on every architecture: every field is at an offset that is a
// multiple of its size.
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	data  seccompData
}

type seccompData struct {
	nr   int32
	arch uint32
	ip   uint64
	args [6]uint64
}

type seccompNotifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// The kernel's sizes of the two structs (the ioctl numbers below encode
// them), checked at compile time on every architecture: Go aligns uint64
// to 4 bytes on 386 and arm, which these layouts never depend on.
var (
	_ [unsafe.Sizeof(seccompNotif{}) - 80]byte
	_ [80 - unsafe.Sizeof(seccompNotif{})]byte
	_ [unsafe.Sizeof(seccompNotifResp{}) - 24]byte
	_ [24 - unsafe.Sizeof(seccompNotifResp{})]byte
)

// The ioctls on a listener, the same number on every architecture (an
// _IOWR, which every encoding spells alike).
const (
	ioctlNotifRecv = 0xc0502100 // SECCOMP_IOCTL_NOTIF_RECV
	ioctlNotifSend = 0xc0182101 // SECCOMP_IOCTL_NOTIF_SEND
)

// untraceable makes sure no other process can answer the exec-once
// listener before the loader's execve closes it: the listener is an fd of
// the loader, which a process that may ptrace the loader can copy
// (pidfd_getfd) or use through the loader (a tracer writes its memory and
// registers), and then let a later execve of the service through — a
// process of an earlier run of the service that survived it
// (KillMode=process), say. The loader becomes non-dumpable, which denies
// ptrace and pidfd_getfd to every process without CAP_SYS_PTRACE, and
// then refuses to go on when a tracer attached before that: the kernel
// names it in /proc/self/status (TracerPid). execve makes the service
// dumpable again as usual.
func untraceable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Errorf("exec once: reading /proc/self/status to see whether the loader is traced: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			if v = strings.TrimSpace(v); v != "0" {
				return fmt.Errorf("exec once: process %s traces the loader, and could let a later execve of the service past exec once through it; the service does not start (stop the tracer, or allow execve in the policy)", v)
			}
			return nil
		}
	}
	return errors.New("exec once: /proc/self/status has no TracerPid line, so the loader cannot tell whether it is traced; the service does not start")
}

// hasExecOnce reports whether a program can return SECCOMP_RET_USER_NOTIF:
// fencer's compiler emits it only for the exec-once gate, always as a
// constant return.
func hasExecOnce(p bpf.Program) bool {
	for _, in := range p {
		if in.Code == bpf.ClassRET|bpf.RetK && in.K&bpf.RetActionFull == bpf.RetUserNotif {
			return true
		}
	}
	return false
}

// execGate is the state the loader's thread shares with the helper that
// answers its execve.
type execGate struct {
	// listener is the filter's listener fd, -1 until seccomp returns it.
	listener atomic.Int32
	// The execve the helper lets through: from the loader's thread (tid),
	// with this number, architecture and arguments.
	tid   uint32
	nr    int32
	audit uint32
	args  [3]uint64
	// Messages the helper writes to stderr when it cannot let it through.
	noContinue, broken []byte
}

// notifSupported checks that the kernel has seccomp user notifications
// (Linux 5.0), which the gate needs, before anything is installed.
func notifSupported() error {
	action := uint32(unix.SECCOMP_RET_USER_NOTIF)
	_, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	if e != 0 {
		return fmt.Errorf("this kernel has no seccomp user notifications (SECCOMP_RET_USER_NOTIF, Linux 5.0; seccomp(SECCOMP_GET_ACTION_AVAIL): %w), "+
			"which exec once needs to let the loader's own execve through: allow execve in the policy to run the service on it, without exec once", e)
	}
	return nil
}

// startHelper starts the goroutine that answers the loader's execve and
// returns once it runs. The loader's thread blocks in execve, in the
// kernel, without giving up its P (its calls after the filter are raw), so
// the helper needs a P of its own: GOMAXPROCS is raised to 2 where it is
// 1 (one CPU, or a CPU quota), which changes nothing for the service.
func (g *execGate) startHelper() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	running := make(chan struct{})
	go func() {
		close(running)
		g.answer()
	}()
	<-running
}

// answer waits for the listener, then answers every notification: the
// loader's execve (from its thread, with its number, architecture and
// arguments) with SECCOMP_USER_NOTIF_FLAG_CONTINUE, anything else with
// ENOSYS, which is what every execve gets once the listener is gone. A
// notification withdrawn before the answer (the loader's thread took a
// signal: SIGSTOP, say, and its execve will be made again) is skipped, and
// its successor answered in turn. The helper ends only with the process:
// the execve, which kills every other thread, or the loader's exit. It runs
// on a thread the filter does not cover, with raw syscalls only, so that
// it never waits for the scheduler, whose P the loader's thread keeps.
//
// When it cannot answer (a kernel before 5.5 refuses the continue flag, or
// the listener fails), it writes why to stderr and closes the listener:
// the kernel then fails the waiting execve with ENOSYS, and the loader
// exits without starting the service.
//
//go:nosplit
func (g *execGate) answer() {
	sleep := unix.NsecToTimespec(50_000)
	for g.listener.Load() < 0 {
		syscall.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&sleep)), 0, 0)
	}
	fd := uintptr(g.listener.Load())
	for {
		var n seccompNotif
		_, _, e := syscall.RawSyscall(unix.SYS_IOCTL, fd, ioctlNotifRecv, uintptr(unsafe.Pointer(&n)))
		if e == unix.EINTR || e == unix.ENOENT {
			continue
		}
		if e != 0 {
			g.giveUp(fd, g.broken)
			return
		}
		if msg := g.reply(fd, &n); msg != nil {
			g.giveUp(fd, msg)
			return
		}
	}
}

// reply answers notification n on listener fd: "continue" for the
// loader's execve, ENOSYS for anything else. It returns nil when the
// helper is to wait for the next notification (the answer went through,
// or the notification was withdrawn: ENOENT), and otherwise the message to
// give up with.
//
//go:nosplit
func (g *execGate) reply(fd uintptr, n *seccompNotif) []byte {
	resp := seccompNotifResp{id: n.id, error: -int32(unix.ENOSYS)}
	if n.pid == g.tid && n.data.nr == g.nr && n.data.arch == g.audit &&
		n.data.args[0] == g.args[0] && n.data.args[1] == g.args[1] && n.data.args[2] == g.args[2] {
		resp = seccompNotifResp{id: n.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	}
	for {
		_, _, e := syscall.RawSyscall(unix.SYS_IOCTL, fd, ioctlNotifSend, uintptr(unsafe.Pointer(&resp)))
		switch {
		case e == unix.EINTR:
			continue
		case e == 0, e == unix.ENOENT:
			return nil
		case e == unix.EINVAL && resp.flags != 0:
			// Linux 5.0 to 5.4: no SECCOMP_USER_NOTIF_FLAG_CONTINUE.
			return g.noContinue
		}
		return g.broken
	}
}

// giveUp writes msg to stderr and closes the listener, which fails the
// waiting execve with ENOSYS, and then waits for the process to end.
//
//go:nosplit
func (g *execGate) giveUp(fd uintptr, msg []byte) {
	syscall.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
	syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	sleep := unix.NsecToTimespec(1_000_000_000)
	for {
		syscall.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&sleep)), 0, 0)
	}
}

// installError explains the kernel's refusal of a filter with a listener.
func installError(e syscall.Errno) error {
	switch {
	case errors.Is(e, unix.EBUSY):
		return fmt.Errorf("the kernel refused the filter with its exec-once listener (seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER: %w): "+
			"this process already runs under a seccomp filter that has a listener (a container runtime's, say), and the kernel allows one; "+
			"the service does not start. Allow execve in the policy to run it here, without exec once", e)
	case errors.Is(e, unix.EINVAL):
		return fmt.Errorf("the kernel refused the filter with its exec-once listener (seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER: %w), "+
			"which needs Linux 5.0; the service does not start. Allow execve in the policy to run it here, without exec once", e)
	}
	return fmt.Errorf("the kernel refused the filter (seccomp SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_NEW_LISTENER): %w", e)
}
