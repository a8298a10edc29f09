//go:build linux && amd64

package arch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The table on the running kernel.
//
// TestKernelArgWidths makes real syscalls, each in a child process of its
// own, with junk in the high half of one argument, and checks that the
// kernel behaves as arg-widths.tsv (and the declared types) say:
//
//   - an argument read on 32 bits (16 for modes) gives the same outcome with
//     junk in bits 32-63 (16-63) as without: the kernel truncates it;
//   - an argument read on 64 bits gives another outcome: the high bits
//     matter (the kernel refuses them, or reads another value);
//   - an argument the call does not read gives the same outcome whatever
//     it holds.
//
// An outcome is the return value (or its errno), and for some calls what a
// second call then reads back (the mode a chmod set, the value a semctl
// stored). Each probe also checks the outcome of the plain call, so that
// two equal failures cannot pass for a truncation.
//
// The child is this test binary, run again with FENCER_WIDTH_PROBE set:
// init below makes the call and exits before any test runs. It runs in
// private mount, IPC and UTS namespaces, in a directory of its own, with a
// session keyring of its own; the calls are made harmless by their
// arguments (an fd the child opened, a page it mapped, a bad pointer after
// the checked argument) and change nothing outside the child.

const (
	probeVar    = "FENCER_WIDTH_PROBE"
	probeDirEnv = "FENCER_WIDTH_PROBE_DIR"
)

// Junk for the high bits: a positive pattern, and one with bit 63 set.
var (
	junk32 = []uint64{0x5a5a5a5a00000000, 0x8000000100000000}
	junk16 = []uint64{0x5a5a5a5a5a5a0000, 0x8000000100010000}
)

// widthProbe is one probed argument: the call, with the probed argument at
// its plain value.
type widthProbe struct {
	sys   string
	arg   int
	class string // what the argument carries: fd, flags, mode, id, ...
	// call prepares what the call needs and returns its arguments.
	call func(e *probeCtx) [6]uint64
	// low is the outcome of the plain call.
	low string
	// okOnly compares successes without their value (an address, a new
	// keyring's serial).
	okOnly bool
	// after reads back what the call did, for calls whose return value says
	// too little.
	after func(e *probeCtx, ret uint64) string
}

// probeCtx is what a child prepares for its call, on demand.
type probeCtx struct {
	dir   string
	fds   map[string]int
	page  uintptr
	shm   uintptr
	keep  [][]byte
	trace int
}

var probeBuf [4096]byte

func (e *probeCtx) ptr(b []byte) uint64 {
	e.keep = append(e.keep, b)
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

func (e *probeCtx) str(s string) uint64 { return e.ptr(append([]byte(s), 0)) }

func (e *probeCtx) buf() uint64 { return uint64(uintptr(unsafe.Pointer(&probeBuf[0]))) }

// bad is an address nothing is mapped at.
const bad = 0x10

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe setup:", err)
		os.Exit(3)
	}
}

func (e *probeCtx) fd(name string, open func() (int, error)) uint64 {
	if fd, ok := e.fds[name]; ok {
		return uint64(fd)
	}
	fd, err := open()
	must(err)
	e.fds[name] = fd
	return uint64(fd)
}

func (e *probeCtx) null() uint64 {
	return e.fd("null", func() (int, error) { return unix.Open("/dev/null", unix.O_RDWR, 0) })
}

// file is a regular file of one page, open read-write.
func (e *probeCtx) file() uint64 {
	return e.fd("file", func() (int, error) {
		fd, err := unix.Open(filepath.Join(e.dir, "file"), unix.O_RDWR|unix.O_CREAT, 0o600)
		if err == nil {
			err = unix.Ftruncate(fd, 4096)
		}
		return fd, err
	})
}

func (e *probeCtx) dirfd() uint64 {
	return e.fd("dir", func() (int, error) { return unix.Open(e.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0) })
}

func (e *probeCtx) pipe() (r, w uint64) {
	if _, ok := e.fds["pipe-r"]; !ok {
		var p [2]int
		must(unix.Pipe(p[:]))
		e.fds["pipe-r"], e.fds["pipe-w"] = p[0], p[1]
	}
	return uint64(e.fds["pipe-r"]), uint64(e.fds["pipe-w"])
}

func (e *probeCtx) epoll() uint64 {
	return e.fd("epoll", func() (int, error) { return unix.EpollCreate1(0) })
}

// anon is an anonymous read-write page of the child's.
func (e *probeCtx) anon() uint64 {
	if e.page == 0 {
		b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		must(err)
		e.page = uintptr(unsafe.Pointer(&b[0]))
	}
	return uint64(e.page)
}

// shared is the file mapped shared, for remap_file_pages.
func (e *probeCtx) shared() uint64 {
	if e.shm == 0 {
		b, err := unix.Mmap(int(e.file()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		must(err)
		e.shm = uintptr(unsafe.Pointer(&b[0]))
	}
	return uint64(e.shm)
}

// aio is an AIO context of the child's.
func (e *probeCtx) aio() uint64 {
	if _, ok := e.fds["aio"]; !ok {
		var ctx uint64
		if _, _, errno := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); errno != 0 {
			must(errno)
		}
		e.fds["aio"] = int(ctx)
	}
	return uint64(e.fds["aio"])
}

// key adds a user key "probe" to the child's session keyring.
func (e *probeCtx) key() uint64 {
	id, err := unix.AddKey("user", "probe", []byte("value"), unix.KEY_SPEC_SESSION_KEYRING)
	must(err)
	return uint64(id)
}

// ring is a second keyring in the child's session keyring.
func (e *probeCtx) ring() uint64 {
	if _, ok := e.fds["ring"]; !ok {
		id, err := unix.AddKey("keyring", "probe-ring", nil, unix.KEY_SPEC_SESSION_KEYRING)
		must(err)
		e.fds["ring"] = id
	}
	return uint64(e.fds["ring"])
}

// tracee is a sleep process the child has seized and stopped (it dies
// with the child: PTRACE_O_EXITKILL).
func (e *probeCtx) tracee() uint64 {
	if e.trace == 0 {
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "30"}, &os.ProcAttr{})
		must(err)
		e.trace = p.Pid
		_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(p.Pid), 0, unix.PTRACE_O_EXITKILL, 0, 0)
		if errno == 0 {
			_, _, errno = unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(p.Pid), 0, 0, 0, 0)
		}
		if errno != 0 {
			must(errno)
		}
		var ws unix.WaitStatus
		_, err = unix.Wait4(p.Pid, &ws, unix.WALL, nil)
		must(err)
	}
	return uint64(e.trace)
}

func iov(e *probeCtx, n int) uint64 {
	v := make([]byte, 16)
	*(*uint64)(unsafe.Pointer(&v[0])) = e.buf()
	*(*uint64)(unsafe.Pointer(&v[8])) = uint64(n)
	return e.ptr(v)
}

func c(name string) uint64 {
	v, ok := X86_64.Const(name)
	if !ok {
		panic("no constant " + name)
	}
	return v
}

func self() uint64 { return uint64(unix.Getpid()) }

func a(xs ...uint64) [6]uint64 {
	var out [6]uint64
	copy(out[:], xs)
	return out
}

const atFDCWD = ^uint64(99)

// sessionRing is KEY_SPEC_SESSION_KEYRING (-3) as a key_serial_t: the low
// 32 bits, which is what the plain call passes.
const sessionRing = 0xfffffffd

// readMode is an after function: the mode of path in the child's dir.
func readMode(path string) func(e *probeCtx, ret uint64) string {
	return func(e *probeCtx, ret uint64) string {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(e.dir, path), &st); err != nil {
			return "stat: " + err.Error()
		}
		return fmt.Sprintf("mode=%o", st.Mode&0o7777)
	}
}

func prctlGet(option uint64) func(e *probeCtx, ret uint64) string {
	return func(e *probeCtx, ret uint64) string {
		r, _, errno := unix.Syscall6(unix.SYS_PRCTL, uintptr(option), uintptr(e.buf()), 0, 0, 0, 0)
		return fmt.Sprintf("get=%d/%d/%d", r, errno, *(*int32)(unsafe.Pointer(&probeBuf[0])))
	}
}

func fcntlGet(cmd uint64) func(e *probeCtx, ret uint64) string {
	return func(e *probeCtx, ret uint64) string {
		r, _, errno := unix.Syscall(unix.SYS_FCNTL, uintptr(e.null()), uintptr(cmd), 0)
		if uint64(r) == self() {
			return fmt.Sprintf("get=self/%d", errno)
		}
		return fmt.Sprintf("get=%d/%d", r, errno)
	}
}

// mapping is an after function for mmap: the permissions and file offset
// of the mapping the call returned, from /proc/self/maps.
func mapping(e *probeCtx, ret uint64) string {
	if int64(ret) < 0 {
		return ""
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err.Error()
	}
	prefix := fmt.Sprintf("%x-", ret)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(line, prefix) {
			return "perms=" + f[1] + " off=" + f[2]
		}
	}
	return "no mapping at " + prefix
}

var widthProbes = []widthProbe{
	// fds (unsigned int, int, or unsigned long passed on as unsigned int).
	{sys: "read", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), e.buf(), 1) }, low: "0"},
	{sys: "write", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), e.buf(), 1) }, low: "1"},
	{sys: "close", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null()) }, low: "0"},
	{sys: "fstat", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), bad) }, low: "EFAULT"},
	{sys: "readv", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), bad, 0) }, low: "0"},
	{sys: "writev", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), bad, 0) }, low: "0"},
	{sys: "preadv", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0) }, low: "0"},
	{sys: "pwritev", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0) }, low: "0"},
	{sys: "preadv2", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "pwritev2", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "mmap", arg: 4, class: "fd", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(0, 4096, unix.PROT_READ, unix.MAP_PRIVATE, e.file(), 0)
	}, low: "ok", after: mapping},
	{sys: "dup", arg: 0, class: "fd", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(e.null()) }, low: "ok"},
	{sys: "dup3", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), 100, 0) }, low: "100"},
	{sys: "dup3", arg: 1, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), 100, 0) }, low: "100"},
	{sys: "fcntl", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_GETFD) }, low: "0"},
	{sys: "ioctl", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), 0x5451 /* FIOCLEX */) }, low: "0"},
	{sys: "epoll_ctl", arg: 2, class: "fd", call: func(e *probeCtx) [6]uint64 {
		r, _ := e.pipe()
		ev := make([]byte, 16)
		return a(e.epoll(), unix.EPOLL_CTL_ADD, r, e.ptr(ev))
	}, low: "0"},
	{sys: "kcmp", arg: 3, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(self(), self(), 0, e.null(), e.null()) }, low: "0"},
	{sys: "kcmp", arg: 4, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(self(), self(), 0, e.null(), e.null()) }, low: "0"},
	{sys: "fcntl", arg: 2, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_DUPFD, 50) }, low: "50"},
	{sys: "fcntl", arg: 2, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_DUPFD_CLOEXEC, 50) }, low: "50"},
	{sys: "openat", arg: 0, class: "fd", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(e.dirfd(), e.str("file"), unix.O_RDONLY|unix.O_CREAT, 0o600)
	}, low: "ok"},
	{sys: "fchmod", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), 0o640) }, low: "0"},
	{sys: "lseek", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), 7, unix.SEEK_SET) }, low: "7"},
	{sys: "ftruncate", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), 8192) }, low: "0"},
	{sys: "fsync", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file()) }, low: "0"},
	{sys: "flock", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), unix.LOCK_SH) }, low: "0"},
	{sys: "fstatfs", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad) }, low: "EFAULT"},
	{sys: "sendfile", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), e.file(), 0, 1) }, low: "1"},
	{sys: "sendfile", arg: 1, class: "fd", call: func(e *probeCtx) [6]uint64 { return a(e.null(), e.file(), 0, 1) }, low: "1"},
	{sys: "vmsplice", arg: 0, class: "fd", call: func(e *probeCtx) [6]uint64 { _, w := e.pipe(); return a(w, bad, 0, 0) }, low: "0"},

	// flags.
	{sys: "mmap", arg: 2, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(0, 4096, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uint64(0), 0)
	}, low: "ok perms=rwxp off=00000000", after: mapping},
	{sys: "mmap", arg: 3, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uint64(0), 0)
	}, low: "ok perms=r--p off=00000000", after: mapping},
	{sys: "mprotect", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.anon(), 4096, unix.PROT_READ) }, low: "0"},
	{sys: "pkey_mprotect", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 {
		return a(e.anon(), 4096, unix.PROT_READ, ^uint64(0))
	}, low: "0"},
	{sys: "remap_file_pages", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.shared(), 4096, 0, 0, 0) }, low: "0"},
	{sys: "remap_file_pages", arg: 4, class: "flags", call: func(e *probeCtx) [6]uint64 {
		return a(e.shared(), 4096, 0, 0, unix.MAP_NONBLOCK)
	}, low: "0"},
	{sys: "mount", arg: 3, class: "flags", call: func(e *probeCtx) [6]uint64 {
		must(os.Mkdir(filepath.Join(e.dir, "m"), 0o700))
		return a(e.str("none"), e.str(filepath.Join(e.dir, "m")), e.str("tmpfs"), unix.MS_NOSUID, 0)
	}, low: "0"},
	{sys: "unshare", arg: 0, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(unix.CLONE_NEWUTS) }, low: "0"},
	{sys: "mremap", arg: 3, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(e.anon(), 4096, 4096, unix.MREMAP_MAYMOVE)
	}, low: "ok"},
	{sys: "mseal", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.anon(), 4096, 0) }, low: "0"},
	{sys: "mbind", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.anon(), 4096, unix.MPOL_DEFAULT, 0, 0, 0) }, low: "0"},
	{sys: "get_mempolicy", arg: 4, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(0, 0, 0, 0, 0) }, low: "0"},
	{sys: "process_vm_readv", arg: 5, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(self(), 0, 0, 0, 0, 0) }, low: "0"},
	{sys: "perf_event_open", arg: 4, class: "flags", call: func(e *probeCtx) [6]uint64 {
		return a(bad, 0, ^uint64(0), ^uint64(0), 0)
	}, low: "EFAULT"},
	{sys: "fanotify_mark", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 {
		fan := e.fd("fanotify", func() (int, error) { return unix.FanotifyInit(unix.FAN_CLASS_NOTIF, unix.O_RDONLY) })
		return a(fan, unix.FAN_MARK_ADD, unix.FAN_ACCESS, atFDCWD, e.str(e.dir))
	}, low: "0"},
	{sys: "futex_wait", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 {
		probeBuf[0] = 1
		return a(e.buf(), 0, 0xffffffff, 2|128, 0, 0) // FUTEX2_SIZE_U32|FUTEX2_PRIVATE
	}, low: "EAGAIN"},
	{sys: "futex_wake", arg: 1, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.buf(), 0xffffffff, 1, 2|128) }, low: "0"},
	{sys: "openat", arg: 2, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(atFDCWD, e.str(filepath.Join(e.dir, "f")), unix.O_RDONLY|unix.O_CREAT, 0o600)
	}, low: "ok"},
	{sys: "mlock2", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.anon(), 4096, 0) }, low: "0"},
	{sys: "socket", arg: 1, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(unix.AF_UNIX, unix.SOCK_STREAM, 0) }, low: "ok"},
	{sys: "pipe2", arg: 1, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.buf(), 0) }, low: "0"},
	{sys: "eventfd2", arg: 1, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(0, 0) }, low: "ok"},
	{sys: "memfd_create", arg: 1, class: "flags", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(e.str("probe"), 0) }, low: "ok"},
	{sys: "fcntl", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_SETFL, unix.O_NONBLOCK) },
		low: "0", after: fcntlGet(unix.F_GETFL)},
	{sys: "fcntl", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_SETFD, 0) },
		low: "0", after: fcntlGet(unix.F_GETFD)},
	{sys: "fcntl", arg: 2, class: "unused", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_GETFL, 0) }, low: "32770"},
	{sys: "fcntl", arg: 2, class: "pointer", call: func(e *probeCtx) [6]uint64 {
		lk := make([]byte, 32) // struct flock: l_type F_RDLCK (0), whole file
		return a(e.file(), unix.F_SETLK, e.ptr(lk))
	}, low: "0"},
	{sys: "personality", arg: 0, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(0xffffffff) }, low: "0"},
	{sys: "prctl", arg: 1, class: "flags", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_TSC, unix.PR_TSC_ENABLE) }, low: "0"},

	// modes (umode_t: 16 bits).
	{sys: "fchmod", arg: 1, class: "mode", call: func(e *probeCtx) [6]uint64 { e.file(); return a(e.file(), 0o640) },
		low: "0", after: readMode("file")},
	{sys: "fchmodat", arg: 2, class: "mode", call: func(e *probeCtx) [6]uint64 { e.file(); return a(e.dirfd(), e.str("file"), 0o604) },
		low: "0", after: readMode("file")},
	{sys: "mkdirat", arg: 2, class: "mode", call: func(e *probeCtx) [6]uint64 { return a(e.dirfd(), e.str("d"), 0o750) },
		low: "0", after: readMode("d")},
	{sys: "openat", arg: 3, class: "mode", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(e.dirfd(), e.str("n"), unix.O_WRONLY|unix.O_CREAT, 0o640)
	}, low: "ok", after: readMode("n")},

	// ids.
	{sys: "kill", arg: 0, class: "id", call: func(e *probeCtx) [6]uint64 { return a(self(), 0) }, low: "0"},
	{sys: "kill", arg: 1, class: "signal", call: func(e *probeCtx) [6]uint64 { return a(self(), 0) }, low: "0"},
	{sys: "getpgid", arg: 0, class: "id", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(self()) }, low: "ok"},
	{sys: "getpriority", arg: 1, class: "id", call: func(e *probeCtx) [6]uint64 { return a(unix.PRIO_PROCESS, self()) }, low: "20"},
	{sys: "setuid", arg: 0, class: "id", call: func(e *probeCtx) [6]uint64 { return a(0) }, low: "0"},
	{sys: "setresgid", arg: 1, class: "id", call: func(e *probeCtx) [6]uint64 { return a(^uint64(0), 0, ^uint64(0)) }, low: "0"},
	{sys: "ptrace", arg: 1, class: "id", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_GETREGSET, e.tracee(), 1, iov(e, 216)) // NT_PRSTATUS
	}, low: "0"},
	{sys: "ptrace", arg: 2, class: "value", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_GETREGSET, e.tracee(), 1, iov(e, 216))
	}, low: "0"},
	{sys: "ptrace", arg: 2, class: "value", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_GET_THREAD_AREA, e.tracee(), 12, e.buf())
	}, low: "0"},
	{sys: "ptrace", arg: 3, class: "cmd", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_ARCH_PRCTL, e.tracee(), e.buf(), c("ARCH_GET_FS"))
	}, low: "0"},
	{sys: "ptrace", arg: 3, class: "pointer", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_GETREGSET, e.tracee(), 1, iov(e, 216))
	}, low: "0"},
	{sys: "ptrace", arg: 3, class: "signal", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_CONT, e.tracee(), 0, 0)
	}, low: "0"},
	{sys: "keyctl", arg: 1, class: "id", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_GET_KEYRING_ID, sessionRing, 0)
	}, low: "ok"},
	{sys: "keyctl", arg: 1, class: "pointer", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_JOIN_SESSION_KEYRING, e.str("probe-ring"))
	}, low: "ok"},
	{sys: "keyctl", arg: 2, class: "value", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_GET_KEYRING_ID, sessionRing, 0)
	}, low: "ok"},
	{sys: "keyctl", arg: 2, class: "id", call: func(e *probeCtx) [6]uint64 { return a(unix.KEYCTL_CHOWN, e.key(), 0, ^uint64(0)) }, low: "0"},
	{sys: "keyctl", arg: 2, class: "flags", call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_SETPERM, e.key(), 0x3f3f0000)
	}, low: "0"},
	{sys: "keyctl", arg: 3, class: "size", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_DESCRIBE, e.key(), bad, 0)
	}, low: "ok"},
	{sys: "keyctl", arg: 3, class: "size", call: func(e *probeCtx) [6]uint64 {
		e.key()
		return a(unix.KEYCTL_READ, sessionRing, bad, 0)
	}, low: "4"},
	{sys: "keyctl", arg: 4, class: "id", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		e.key()
		return a(unix.KEYCTL_SEARCH, sessionRing, e.str("user"), e.str("probe"), 0)
	}, low: "ok"},
	{sys: "keyctl", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_SET_REQKEY_KEYRING, 0xffffffff) // KEY_REQKEY_DEFL_NO_CHANGE: returns the default
	}, low: "0"},
	{sys: "keyctl", arg: 2, class: "id", call: func(e *probeCtx) [6]uint64 { return a(unix.KEYCTL_LINK, e.key(), e.ring()) }, low: "0"},
	{sys: "keyctl", arg: 2, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.KEYCTL_SET_TIMEOUT, e.key(), 0) }, low: "0"},
	{sys: "keyctl", arg: 3, class: "id", call: func(e *probeCtx) [6]uint64 { return a(unix.KEYCTL_CHOWN, e.key(), ^uint64(0), 0) }, low: "0"},
	{sys: "keyctl", arg: 3, class: "id", call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_MOVE, e.key(), sessionRing, e.ring(), 0)
	}, low: "0"},
	{sys: "keyctl", arg: 4, class: "flags", call: func(e *probeCtx) [6]uint64 {
		return a(unix.KEYCTL_MOVE, e.key(), sessionRing, e.ring(), 0)
	}, low: "0"},
	{sys: "semctl", arg: 3, class: "value", call: func(e *probeCtx) [6]uint64 {
		sem, _, errno := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, 0o600|unix.IPC_CREAT)
		if errno != 0 {
			must(errno)
		}
		e.fds["sem"] = int(sem)
		return a(uint64(sem), 0, 16, 5) // SETVAL
	}, low: "0", after: func(e *probeCtx, ret uint64) string {
		r, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(e.fds["sem"]), 0, 12, 0, 0, 0) // GETVAL
		return fmt.Sprintf("val=%d/%d", r, errno)
	}},
	{sys: "sysfs", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(2, 0, e.buf()) }, low: "0"},
	// futex(FUTEX_CMP_REQUEUE_PRIVATE)'s utime is nr_requeue, a u32 to
	// do_futex(): 1 requeues no one (no waiters), 0xffffffff is -1, EINVAL;
	// junk in the high half changes neither.
	{sys: "futex", arg: 3, class: "value", call: func(e *probeCtx) [6]uint64 { return a(e.buf(), 4|128, 0, 1, e.buf()+64, 0) }, low: "0"},
	{sys: "futex", arg: 3, class: "value", call: func(e *probeCtx) [6]uint64 { return a(e.buf(), 4|128, 0, 0xffffffff, e.buf()+64, 0) }, low: "EINVAL"},
	{sys: "sysfs", arg: 1, class: "pointer", okOnly: true, call: func(e *probeCtx) [6]uint64 { return a(1, e.str("proc")) }, low: "ok"},
	{sys: "prctl", arg: 1, class: "cmd", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PR_SET_MM, unix.PR_SET_MM_MAP_SIZE, e.buf(), 0, 0)
	}, low: "0"},
	{sys: "prctl", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PR_FUTEX_HASH, unix.PR_FUTEX_HASH_SET_SLOTS, 16, 0)
	}, low: "0"},
	{sys: "prctl", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_DUMPABLE, 1) }, low: "0"},
	{sys: "prctl", arg: 1, class: "signal", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_PDEATHSIG, uint64(syscall.SIGKILL)) }, low: "0"},
	{sys: "prctl", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_CHILD_SUBREAPER, 0) },
		low: "0", after: prctlGet(unix.PR_GET_CHILD_SUBREAPER)},
	{sys: "prctl", arg: 1, class: "pointer", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_NAME, e.str("probe")) }, low: "0"},
	{sys: "prctl", arg: 1, class: "unused", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_GET_DUMPABLE, 0) }, low: "1"},
	{sys: "prctl", arg: 2, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }, low: "0"},
	{sys: "prctl", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_CAPBSET_READ, unix.CAP_CHOWN) }, low: "1"},
	{sys: "prctl", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(unix.PR_SET_TIMERSLACK, 1000) },
		low: "0", after: func(e *probeCtx, ret uint64) string {
			r, _, _ := unix.Syscall(unix.SYS_PRCTL, unix.PR_GET_TIMERSLACK, 0, 0)
			return fmt.Sprintf("slack=%d", r)
		}},
	{sys: "fcntl", arg: 2, class: "id", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_SETOWN, self()) },
		low: "0", after: fcntlGet(unix.F_GETOWN)},
	{sys: "fcntl", arg: 2, class: "signal", call: func(e *probeCtx) [6]uint64 { return a(e.null(), unix.F_SETSIG, uint64(syscall.SIGUSR1)) },
		low: "0", after: fcntlGet(unix.F_GETSIG)},
	{sys: "io_destroy", arg: 0, class: "id", call: func(e *probeCtx) [6]uint64 {
		var ctx uint64
		_, _, errno := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0)
		if errno != 0 {
			must(errno)
		}
		return a(ctx)
	}, low: "0"},
	{sys: "arch_prctl", arg: 1, class: "pointer", call: func(e *probeCtx) [6]uint64 { return a(c("ARCH_GET_FS"), e.buf()) }, low: "0"},

	// Sizes and counts.
	{sys: "readv", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.null(), bad, 0) }, low: "0"},
	{sys: "writev", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.null(), bad, 0) }, low: "0"},
	{sys: "preadv", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0) }, low: "0"},
	{sys: "pwritev", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0) }, low: "0"},
	{sys: "preadv2", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "pwritev2", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.file(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "process_madvise", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 {
		pfd := e.fd("pidfd", func() (int, error) { return unix.PidfdOpen(unix.Getpid(), 0) })
		return a(pfd, bad, 0, unix.MADV_COLD, 0)
	}, low: "0"},
	{sys: "process_vm_readv", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(self(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "process_vm_writev", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { return a(self(), bad, 0, 0, 0, 0) }, low: "0"},
	{sys: "process_vm_readv", arg: 4, class: "size", call: func(e *probeCtx) [6]uint64 { return a(self(), iov(e, 1), 1, 0, 0, 0) }, low: "0"},
	{sys: "vmsplice", arg: 2, class: "size", call: func(e *probeCtx) [6]uint64 { _, w := e.pipe(); return a(w, bad, 0, 0) }, low: "0"},
	{sys: "preadv", arg: 3, class: "offset", call: func(e *probeCtx) [6]uint64 { return a(e.file(), iov(e, 1), 1, 0, 0) }, low: "1"},
	{sys: "preadv", arg: 4, class: "unused", call: func(e *probeCtx) [6]uint64 { return a(e.file(), iov(e, 1), 1, 0, 0) }, low: "1"},
	{sys: "pwritev2", arg: 4, class: "unused", call: func(e *probeCtx) [6]uint64 { return a(e.file(), iov(e, 1), 1, 0, 0, 0) }, low: "1"},
	{sys: "lseek", arg: 1, class: "offset", call: func(e *probeCtx) [6]uint64 { return a(e.file(), 7, unix.SEEK_SET) }, low: "7"},
	{sys: "getrandom", arg: 1, class: "size", call: func(e *probeCtx) [6]uint64 { return a(bad, 0, 0) }, low: "0"},
	{sys: "mmap", arg: 1, class: "size", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uint64(0), 0)
	}, low: "ok"},
	{sys: "mmap", arg: 5, class: "offset", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(0, 4096, unix.PROT_READ, unix.MAP_PRIVATE, e.file(), 0)
	}, low: "ok perms=r--p off=00000000", after: mapping},
	{sys: "set_robust_list", arg: 1, class: "size", call: func(e *probeCtx) [6]uint64 { return a(0, 24) }, low: "0"},
	{sys: "rt_sigaction", arg: 3, class: "size", call: func(e *probeCtx) [6]uint64 { return a(uint64(syscall.SIGUSR1), 0, 0, 8) }, low: "0"},
	{sys: "rt_sigprocmask", arg: 3, class: "size", call: func(e *probeCtx) [6]uint64 { return a(0, 0, 0, 8) }, low: "0"},
	{sys: "clone3", arg: 1, class: "size", call: func(e *probeCtx) [6]uint64 { return a(bad, 64) }, low: "EFAULT"},
	{sys: "msgrcv", arg: 3, class: "value", call: func(e *probeCtx) [6]uint64 {
		q, _, errno := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, 0o600|unix.IPC_CREAT, 0)
		if errno != 0 {
			must(errno)
		}
		msg := make([]byte, 16)
		msg[0] = 1 // mtype 1
		if _, _, errno := unix.Syscall6(unix.SYS_MSGSND, q, uintptr(e.ptr(msg)), 8, 0, 0, 0); errno != 0 {
			must(errno)
		}
		return a(uint64(q), e.buf(), 8, 1, unix.IPC_NOWAIT)
	}, low: "8"},
	{sys: "signalfd4", arg: 2, class: "size", okOnly: true, call: func(e *probeCtx) [6]uint64 {
		return a(^uint64(0), e.buf(), 8, 0)
	}, low: "ok"},
	{sys: "epoll_pwait", arg: 5, class: "size", call: func(e *probeCtx) [6]uint64 {
		return a(e.epoll(), e.buf(), 1, 0, e.ptr(make([]byte, 8)), 8)
	}, low: "0"},
	{sys: "ppoll", arg: 4, class: "size", call: func(e *probeCtx) [6]uint64 {
		return a(0, 0, e.ptr(make([]byte, 16)), e.ptr(make([]byte, 8)), 8)
	}, low: "0"},
	{sys: "rt_sigpending", arg: 1, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.buf(), 8) }, low: "0"},
	{sys: "rt_sigtimedwait", arg: 3, class: "size", call: func(e *probeCtx) [6]uint64 {
		return a(e.ptr(make([]byte, 8)), 0, e.ptr(make([]byte, 16)), 8)
	}, low: "EAGAIN"},
	{sys: "io_getevents", arg: 2, class: "value", call: func(e *probeCtx) [6]uint64 {
		return a(e.aio(), 0, 1, e.buf(), e.ptr(make([]byte, 16)))
	}, low: "0"},
	{sys: "io_submit", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 { return a(e.aio(), 0, bad) }, low: "0"},
	{sys: "ftruncate", arg: 1, class: "offset", call: func(e *probeCtx) [6]uint64 { return a(e.file(), 8192) }, low: "0"},
	{sys: "madvise", arg: 1, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.anon(), 4096, unix.MADV_NORMAL) }, low: "0"},
	{sys: "ptrace", arg: 0, class: "cmd", call: func(e *probeCtx) [6]uint64 {
		return a(unix.PTRACE_GETREGSET, e.tracee(), 1, iov(e, 216))
	}, low: "0"},
	{sys: "semctl", arg: 3, class: "pointer", call: func(e *probeCtx) [6]uint64 {
		sem, _, errno := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, 0o600|unix.IPC_CREAT)
		if errno != 0 {
			must(errno)
		}
		return a(uint64(sem), 0, 2, e.buf()) // IPC_STAT
	}, low: "0"},
	{sys: "copy_file_range", arg: 4, class: "size", call: func(e *probeCtx) [6]uint64 {
		out := e.fd("out", func() (int, error) { return unix.Open(filepath.Join(e.dir, "out"), unix.O_RDWR|unix.O_CREAT, 0o600) })
		return a(e.file(), 0, out, 0, 1, 0)
	}, low: "1"},
	{sys: "sendfile", arg: 3, class: "size", call: func(e *probeCtx) [6]uint64 { return a(e.null(), e.file(), 0, 1) }, low: "1"},
	{sys: "futex_wait", arg: 1, class: "value", call: func(e *probeCtx) [6]uint64 {
		probeBuf[0] = 1
		return a(e.buf(), 0, 0xffffffff, 2|128, 0, 0)
	}, low: "EAGAIN"},
}

func init() {
	if spec := os.Getenv(probeVar); spec != "" {
		os.Exit(probeChild(spec))
	}
}

// probeChild runs one call in this process: spec is "INDEX:VARIANT".
func probeChild(spec string) int {
	runtime.LockOSThread()
	idx, variant, _ := strings.Cut(spec, ":")
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(widthProbes) {
		fmt.Fprintln(os.Stderr, "bad probe", spec)
		return 2
	}
	p := widthProbes[i]
	e := &probeCtx{dir: os.Getenv(probeDirEnv), fds: map[string]int{}}
	// A session keyring of the child's own: the key calls touch only it.
	_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	if errno != 0 {
		must(errno)
	}
	args := p.call(e)
	plain := args
	x := args[p.arg]
	switch {
	case variant == "low":
	case strings.HasPrefix(variant, "hi32-"):
		n, _ := strconv.Atoi(strings.TrimPrefix(variant, "hi32-"))
		args[p.arg] = x&0xffffffff | junk32[n]
	case strings.HasPrefix(variant, "hi16-"):
		n, _ := strconv.Atoi(strings.TrimPrefix(variant, "hi16-"))
		args[p.arg] = x&0xffff | junk16[n]
	case variant == "junk":
		args[p.arg] = 0x5a5a5a5a5a5a5a5a
	default:
		fmt.Fprintln(os.Stderr, "bad variant", variant)
		return 2
	}
	nr, ok := X86_64.Syscall(p.sys)
	if !ok {
		fmt.Fprintln(os.Stderr, "no syscall", p.sys)
		return 2
	}
	r, _, errno := syscall.Syscall6(uintptr(nr), uintptr(args[0]), uintptr(args[1]), uintptr(args[2]),
		uintptr(args[3]), uintptr(args[4]), uintptr(args[5]))
	res := probeResult{Args: plain, Ret: int64(r)}
	if errno != 0 {
		res.Ret = -int64(errno)
	}
	if p.after != nil {
		res.After = p.after(e, uint64(res.Ret))
	}
	b, _ := json.Marshal(res)
	os.Stdout.Write(b)
	return 0
}

type probeResult struct {
	Args  [6]uint64 // the plain call's arguments
	Ret   int64     // the return value, or -errno
	After string
}

func (r probeResult) outcome(okOnly bool) string {
	var s string
	switch {
	case r.Ret < 0 && r.Ret > -4096:
		s = unix.ErrnoName(syscall.Errno(-r.Ret))
	case okOnly:
		s = "ok"
	default:
		s = strconv.FormatInt(r.Ret, 10)
	}
	if r.After != "" {
		s += " " + r.After
	}
	return s
}

// runProbe runs widthProbes[i] in a child with the given variant.
func runProbe(t *testing.T, i int, variant string) (probeResult, error) {
	dir, err := os.MkdirTemp(t.TempDir(), "probe")
	if err != nil {
		return probeResult{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%s", probeVar, i, variant), probeDirEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Go makes / private in the child, so its mounts stay there.
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		Pdeathsig:    syscall.SIGKILL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return probeResult{}, fmt.Errorf("child: %v: %s", err, stderr.String())
	}
	var res probeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return probeResult{}, fmt.Errorf("child said %q (%v): %s", stdout.String(), err, stderr.String())
	}
	return res, nil
}

// probeSkips are the x86_64 rows of arg-widths.tsv that truncate an
// argument and that no probe can check on this machine, and why.
var probeSkips = map[string]string{
	"clone arg0 -":                                      "sys_clone takes lower_32_bits(clone_flags), which a probe could only see by creating a process; clone3 refuses the same high bits",
	"prctl arg1 arg0=PR_SCHED_CORE":                     "CONFIG_SCHED_CORE is off on the CI kernel: EINVAL whatever the arguments",
	"prctl arg2 arg0=PR_SCHED_CORE":                     "CONFIG_SCHED_CORE is off on the CI kernel",
	"prctl arg3 arg0=PR_SCHED_CORE":                     "CONFIG_SCHED_CORE is off on the CI kernel",
	"prctl arg1 arg0=PR_SET_PTRACER":                    "Yama is not enabled on the CI kernel: EINVAL whatever the arguments",
	"prctl arg2 arg0=PR_SET_MM&arg1=PR_SET_MM_EXE_FILE": "needs CAP_SYS_RESOURCE, which the CI container drops",
	"keyctl arg1 arg0=KEYCTL_GET_PERSISTENT":            "creates the user's persistent keyring, which outlives the probe for days",
	"keyctl arg2 arg0=KEYCTL_WATCH_KEY":                 "needs a watch queue: CONFIG_WATCH_QUEUE is off on the CI kernel",
	"keyctl arg3 arg0=KEYCTL_REJECT":                    "needs a key under construction, which only the kernel's request-key upcall makes",
	"keyctl arg3 arg0=KEYCTL_WATCH_KEY":                 "needs a watch queue: CONFIG_WATCH_QUEUE is off on the CI kernel",
}

// TestKernelArgWidths runs every probe of widthProbes on the running kernel
// (see the comment at the top of this file).
func TestKernelArgWidths(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the width probes need root, and CI=true must run them")
		}
		t.Skip("the width probes need root")
	}
	results := make([]probeOutcome, len(widthProbes))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, p := range widthProbes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = checkProbe(t, i, p)
		}()
	}
	wg.Wait()
	pairs := map[string]bool{}
	probedLines := map[int]bool{}
	classes := map[string]int{}
	for _, r := range results {
		if r.fail {
			t.Error(r.detail)
			continue
		}
		pairs[r.pair] = true
		probedLines[r.line] = true
		classes[r.class]++
		t.Log(r.detail)
	}

	// Every x86_64 row that reads a 64-bit register on fewer bits is
	// probed, or says why it cannot be here.
	for _, r := range X86_64.WidthRows() {
		key := fmt.Sprintf("%s arg%d %s", r.Entry, r.Arg, r.When)
		_, skip := probeSkips[key]
		switch {
		case (r.Width.Bits == 32 || r.Width.Bits == 16) && !probedLines[r.Line] && !skip:
			t.Errorf("arg-widths.tsv line %d (%s) truncates an argument and no probe checks it", r.Line, key)
		case skip && probedLines[r.Line]:
			t.Errorf("arg-widths.tsv line %d (%s) is probed: drop it from probeSkips", r.Line, key)
		}
	}
	for _, class := range []string{"fd", "flags", "mode", "id"} {
		if classes[class] < 4 {
			t.Errorf("only %d probes of class %s", classes[class], class)
		}
	}
	var list []string
	for p := range pairs {
		list = append(list, p)
	}
	sort.Strings(list)
	// README.md says over 100.
	if len(list) <= 100 && !t.Failed() {
		t.Errorf("only %d (syscall, arg) pairs probed", len(list))
	}
	t.Logf("%d (syscall, arg) pairs probed in %d probes (by class %v), %d rows of arg-widths.tsv: %s",
		len(list), len(widthProbes), classes, len(probedLines), strings.Join(list, ", "))
}

type probeOutcome struct {
	pair, class, detail string
	line                int
	fail                bool
}

// checkProbe runs one probe: the plain call, then the call with junk in the
// high bits of the argument, and compares them as the table says.
func checkProbe(t *testing.T, i int, p widthProbe) probeOutcome {
	pair := fmt.Sprintf("%s arg%d", p.sys, p.arg)
	fail := func(format string, args ...any) probeOutcome {
		return probeOutcome{pair: pair, detail: fmt.Sprintf("%s (%s): ", pair, p.class) + fmt.Sprintf(format, args...), fail: true}
	}
	low, err := runProbe(t, i, "low")
	if err != nil {
		return fail("%v", err)
	}
	lowOut := low.outcome(p.okOnly)
	if p.low != "-" && lowOut != p.low && !strings.HasPrefix(lowOut, p.low+" ") {
		return fail("the plain call gives %q, want %q", lowOut, p.low)
	}
	w := X86_64.ArgWidthIn(p.sys, p.arg, &low.Args)
	var variants []string
	same := true
	switch {
	case !w.Known:
		return fail("the table does not know this width (%s)", w.Reason)
	case w.Class == "unused":
		variants = []string{"junk"}
	case w.Bits == 16:
		variants = []string{"hi16-0", "hi16-1"}
	case w.Bits == 32:
		variants = []string{"hi32-0", "hi32-1"}
	default:
		// Either junk pattern may be the one the kernel notices: a
		// positive count that is merely large, or a negative one.
		variants = []string{"hi32-0", "hi32-1"}
		same = false
	}
	if same && p.low == "-" {
		return fail("a probe of a truncated argument must say what the plain call gives")
	}
	var seen []string
	differ := false
	for _, v := range variants {
		hi, err := runProbe(t, i, v)
		if err != nil {
			return fail("%s: %v", v, err)
		}
		out := hi.outcome(p.okOnly)
		seen = append(seen, v+": "+out)
		if same && out != lowOut {
			return fail("the table says %d bits (%s, line %d: %s), so junk in the high bits (%s) should give the plain call's outcome %q; it gave %q",
				w.Bits, w.Class, w.Line, w.Reason, v, lowOut, out)
		}
		differ = differ || out != lowOut
	}
	if !same && !differ {
		return fail("the table says 64 bits (%s, line %d: %s), so junk in the high bits should change the outcome %q; it did not (%s)",
			w.Class, w.Line, w.Reason, lowOut, strings.Join(seen, ", "))
	}
	return probeOutcome{pair: pair, class: p.class, line: w.Line,
		detail: fmt.Sprintf("%s: %d bits (%s, line %d): plain %q, %s", pair, w.Bits, w.Class, w.Line, lowOut, strings.Join(seen, ", "))}
}
