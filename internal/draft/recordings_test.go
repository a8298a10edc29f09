package draft

import (
	"fmt"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// builder makes hand-made recordings: calls by name on one architecture,
// a millisecond apart.
type builder struct {
	a   *arch.Arch
	rec *observe.Recording
	now time.Duration
}

func newBuilder(archName string, fds ...observe.Fd) *builder {
	a, ok := arch.Lookup(archName)
	if !ok {
		panic("no arch " + archName)
	}
	return &builder{a: a, rec: &observe.Recording{Arch: a.Name, Fds: fds, Ended: observe.Interrupted}}
}

// k is the named constant on the builder's architecture.
func (b *builder) k(names ...string) uint64 {
	var v uint64
	for _, n := range names {
		x, ok := b.a.Const(n)
		if !ok {
			panic(fmt.Sprintf("no constant %s on %s", n, b.a.Name))
		}
		v |= x
	}
	return v
}

// call records a returned call of thread tid in process pid.
func (b *builder) call(pid, tid int, name string, ret int64, args ...uint64) *observe.Call {
	nr, ok := b.a.Syscall(name)
	if !ok {
		if alt, found := b.a.Replacement(name); found {
			name = alt
			nr, ok = b.a.Syscall(name)
		}
	}
	if !ok {
		panic(fmt.Sprintf("no syscall %s on %s", name, b.a.Name))
	}
	c := observe.Call{PID: pid, TID: tid, Nr: nr, Name: name, Returned: true, Ret: ret, Start: b.now, Dur: 10 * time.Microsecond}
	copy(c.Args[:], args)
	b.now += time.Millisecond
	b.rec.Calls = append(b.rec.Calls, c)
	b.rec.Elapsed = b.now
	return &b.rec.Calls[len(b.rec.Calls)-1]
}

// path records a call with a path in argument arg.
func (b *builder) path(pid int, name string, arg int, p string, ret int64, args ...uint64) {
	c := b.call(pid, pid, name, ret, args...)
	c.Text[arg] = p
}

// glibcStart is a dynamically linked glibc program's start-up on x86_64
// or aarch64: the loader maps libc, sets up TLS, rseq and the robust
// list. Its own opens land on fd lo and up.
func (b *builder) glibcStart(pid int, lo int64) {
	exe := b.call(pid, pid, "execve", 0, 0x7ffd0000, 0x7ffd0100, 0x7ffd0200)
	exe.Text[0] = "/usr/sbin/demo"
	b.call(pid, pid, "brk", 0x55550000, 0)
	if b.a.Name == "x86_64" {
		b.call(pid, pid, "arch_prctl", -22, 0x3001, 0x7ffd1000)
	}
	b.call(pid, pid, "mmap", 0x7f0000000000, 0, 8192, b.k("PROT_READ", "PROT_WRITE"), b.k("MAP_PRIVATE", "MAP_ANONYMOUS"), 0xffffffffffffffff, 0)
	b.path(pid, "faccessat", 1, "/etc/ld.so.preload", -2, b.k("AT_FDCWD")&0xffffffff, 0x7f0000001000, 4)
	b.path(pid, "openat", 1, "/etc/ld.so.cache", lo, b.k("AT_FDCWD")&0xffffffff, 0x7f0000002000, b.k("O_RDONLY", "O_CLOEXEC"))
	b.call(pid, pid, "newfstatat", 0, uint64(lo), 0x7f0000003000, 0x7ffd2000, b.k("AT_EMPTY_PATH"))
	b.call(pid, pid, "mmap", 0x7f0000010000, 0, 30000, b.k("PROT_READ"), b.k("MAP_PRIVATE"), uint64(lo), 0)
	b.call(pid, pid, "close", 0, uint64(lo))
	b.path(pid, "openat", 1, "/lib/x86_64-linux-gnu/libc.so.6", lo, b.k("AT_FDCWD")&0xffffffff, 0x7f0000004000, b.k("O_RDONLY", "O_CLOEXEC"))
	b.call(pid, pid, "read", 832, uint64(lo), 0x7ffd3000, 832)
	b.call(pid, pid, "pread64", 784, uint64(lo), 0x7ffd3400, 784, 64)
	b.call(pid, pid, "mmap", 0x7f0000100000, 0, 2000000, b.k("PROT_READ"), b.k("MAP_PRIVATE", "MAP_DENYWRITE"), uint64(lo), 0)
	b.call(pid, pid, "mmap", 0x7f0000128000, 0x7f0000128000, 1400000, b.k("PROT_READ", "PROT_EXEC"), b.k("MAP_PRIVATE", "MAP_FIXED", "MAP_DENYWRITE"), uint64(lo), 0x28000)
	b.call(pid, pid, "mmap", 0x7f00002f0000, 0x7f00002f0000, 24576, b.k("PROT_READ", "PROT_WRITE"), b.k("MAP_PRIVATE", "MAP_FIXED", "MAP_DENYWRITE"), uint64(lo), 0x1f0000)
	b.call(pid, pid, "close", 0, uint64(lo))
	if b.a.Name == "x86_64" {
		b.call(pid, pid, "arch_prctl", 0, 0x1002, 0x7f0000300740)
	}
	b.call(pid, pid, "set_tid_address", int64(pid), 0x7f0000300a10)
	b.call(pid, pid, "set_robust_list", 0, 0x7f0000300a20, 24)
	b.call(pid, pid, "rseq", 0, 0x7f0000301060, 0x20, 0, 0x53053053)
	b.call(pid, pid, "mprotect", 0, 0x7f00002f0000, 16384, b.k("PROT_READ"))
	b.call(pid, pid, "prlimit64", 0, 0, b.k("RLIMIT_STACK"), 0, 0x7ffd4000)
	b.call(pid, pid, "munmap", 0, 0x7f0000010000, 30000)
	b.call(pid, pid, "getrandom", 8, 0x7f00002f5000, 8, b.k("GRND_NONBLOCK"))
	b.call(pid, pid, "brk", 0x55550000, 0)
	b.call(pid, pid, "brk", 0x55571000, 0x55571000)
}

// smallDaemon is a single-threaded event-loop server under systemd: its
// socket on fd 3, stdout and stderr to the journal. It logs to stderr,
// reads a config file, serves clients accepted from fd 3 with read and
// sendto, and closes them.
func smallDaemon(archName string) *observe.Recording {
	b := newBuilder(archName,
		observe.Fd{Number: 0, Name: "stdin", Kind: "stdin", Value: "null"},
		observe.Fd{Number: 1, Name: "stdout", Kind: "stdout", Value: "journal"},
		observe.Fd{Number: 2, Name: "stderr", Kind: "stderr", Value: "journal"},
		observe.Fd{Number: 3, Name: "demo.socket", Kind: "listen_stream", Value: "127.0.0.1:8080"},
	)
	b.rec.Unit = "demo.service"
	b.rec.Command = []string{"/usr/sbin/demo", "--foreground"}
	const pid = 4000
	b.glibcStart(pid, 4)
	b.path(pid, "openat", 1, "/etc/demo.conf", 4, b.k("AT_FDCWD")&0xffffffff, 0x7ffd5000, b.k("O_RDONLY", "O_CLOEXEC"))
	b.call(pid, pid, "read", 120, 4, 0x55560000, 4096)
	b.call(pid, pid, "read", 0, 4, 0x55560000, 4096)
	b.call(pid, pid, "close", 0, 4)
	b.call(pid, pid, "write", 20, 2, 0x55560100, 20)
	b.call(pid, pid, "epoll_create1", 4, b.k("EPOLL_CLOEXEC"))
	b.call(pid, pid, "epoll_ctl", 0, 4, b.k("EPOLL_CTL_ADD"), 3, 0x7ffd6000)
	for i := 0; i < 3; i++ {
		w := b.call(pid, pid, "epoll_wait", 1, 4, 0x7ffd7000, 64, 0xffffffffffffffff)
		w.Dur = 2 * time.Second
		b.call(pid, pid, "accept4", 5, 3, 0, 0, b.k("SOCK_CLOEXEC", "SOCK_NONBLOCK"))
		b.call(pid, pid, "epoll_ctl", 0, 4, b.k("EPOLL_CTL_ADD"), 5, 0x7ffd6000)
		b.call(pid, pid, "read", 78, 5, 0x55561000, 16384)
		b.call(pid, pid, "sendto", 120, 5, 0x55562000, 120, b.k("MSG_NOSIGNAL"), 0, 0)
		b.call(pid, pid, "write", 40, 2, 0x55560100, 40)
		b.call(pid, pid, "close", 0, 5)
	}
	return b.rec
}

// threadedServer is a server that opens its own listening socket, starts
// two worker threads with clone3 (glibc 2.34 and later) and serves
// clients on them; a log file it opens for appending gets a line per
// request; it forks a child that writes to stdout and exits.
func threadedServer(archName string) *observe.Recording {
	b := newBuilder(archName,
		observe.Fd{Number: 0, Name: "stdin", Kind: "number"},
		observe.Fd{Number: 1, Name: "stdout", Kind: "number"},
		observe.Fd{Number: 2, Name: "stderr", Kind: "number"},
	)
	b.rec.Command = []string{"/usr/bin/tserver", "-p", "9000"}
	const pid = 7000
	b.glibcStart(pid, 3)
	b.path(pid, "openat", 1, "/var/log/tserver.log", 3, b.k("AT_FDCWD")&0xffffffff, 0x7ffd5000, b.k("O_WRONLY", "O_CREAT", "O_APPEND", "O_CLOEXEC"), 0o644)
	b.call(pid, pid, "socket", 4, b.k("AF_INET"), b.k("SOCK_STREAM", "SOCK_CLOEXEC"), 0)
	b.call(pid, pid, "setsockopt", 0, 4, b.k("SOL_SOCKET"), b.k("SO_REUSEADDR"), 0x7ffd5100, 4)
	b.call(pid, pid, "bind", 0, 4, 0x7ffd5200, 16)
	b.call(pid, pid, "listen", 0, 4, 511)
	b.call(pid, pid, "rt_sigaction", 0, b.k("SIGPIPE"), 0x7ffd5300, 0, 8)
	threadFlags := b.k("CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD", "CLONE_SYSVSEM",
		"CLONE_SETTLS", "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID")
	for k := 1; k <= 2; k++ {
		b.call(pid, pid, "mmap", 0x7f1000000000, 0, 8392704, b.k("PROT_NONE"), b.k("MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_STACK"), 0xffffffffffffffff, 0)
		b.call(pid, pid, "mprotect", 0, 0x7f1000001000, 8388608, b.k("PROT_READ", "PROT_WRITE"))
		b.call(pid, pid, "rt_sigprocmask", 0, b.k("SIG_BLOCK"), 0x7ffd5400, 0x7ffd5480, 8)
		c := b.call(pid, pid, "clone3", int64(pid+k), 0x7ffd5500, 88)
		c.CloneFlags = threadFlags
		b.call(pid, pid, "rt_sigprocmask", 0, b.k("SIG_SETMASK"), 0x7ffd5480, 0, 8)
		b.call(pid, pid+k, "rseq", 0, 0x7f1000800000, 0x20, 0, 0x53053053)
		b.call(pid, pid+k, "set_robust_list", 0, 0x7f1000800a20, 24)
		b.call(pid, pid+k, "rt_sigprocmask", 0, b.k("SIG_SETMASK"), 0x7f1000800480, 0, 8)
	}
	// The main thread waits for the workers; the workers accept.
	j := b.call(pid, pid, "futex", 0, 0x7f1000800910, 0, 7001, 0)
	j.Returned = false
	for r := 0; r < 4; r++ {
		tid := pid + 1 + r%2
		w := b.call(pid, tid, "accept4", int64(5+r%2), 4, 0x7f1000700000, 0x7f1000700100, b.k("SOCK_CLOEXEC"))
		w.Dur = 1500 * time.Millisecond
		b.call(pid, tid, "recvfrom", 64, uint64(5+r%2), 0x7f1000701000, 4096, 0, 0, 0)
		b.call(pid, tid, "write", 30, 3, 0x7f1000702000, 30)
		b.call(pid, tid, "sendto", 64, uint64(5+r%2), 0x7f1000701000, 64, b.k("MSG_NOSIGNAL"), 0, 0)
		b.call(pid, tid, "close", 0, uint64(5+r%2))
		b.call(pid, tid, "clock_gettime", 0, b.k("CLOCK_MONOTONIC"), 0x7f1000703000)
	}
	// A child process reports to stdout and exits.
	fork := b.call(pid, pid+1, "clone", pid+10, b.k("CLONE_CHILD_SETTID", "CLONE_CHILD_CLEARTID", "SIGCHLD"), 0, 0, 0x7f1000800a10, 0)
	if b.a.CloneFlagsArg() == 1 {
		fork.Args[0], fork.Args[1] = 0, fork.Args[0]
	}
	b.call(pid+10, pid+10, "set_robust_list", 0, 0x7f1000800a20, 24)
	b.call(pid+10, pid+10, "write", 12, 1, 0x55560000, 12)
	ex := b.call(pid+10, pid+10, "exit_group", 0, 0)
	ex.Returned = false
	b.call(pid, pid+1, "wait4", pid+10, pid+10, 0x7f1000704000, 0, 0)
	b.rec.Ended = observe.Timeout
	return b.rec
}

// echo is `record -- /bin/echo hello`: a glibc start-up, one write to
// stdout, and the exit.
func echo(archName string) *observe.Recording {
	b := newBuilder(archName,
		observe.Fd{Number: 0, Name: "stdin", Kind: "stdin", Value: "tty"},
		observe.Fd{Number: 1, Name: "stdout", Kind: "stdout", Value: "inherit"},
		observe.Fd{Number: 2, Name: "stderr", Kind: "stderr", Value: "inherit"},
	)
	b.rec.Command = []string{"/bin/echo", "hello"}
	const pid = 900
	b.glibcStart(pid, 3)
	b.call(pid, pid, "newfstatat", 0, 1, 0x7f0000300000, 0x7ffd9000, b.k("AT_EMPTY_PATH"))
	b.call(pid, pid, "write", 6, 1, 0x55560000, 6)
	b.call(pid, pid, "close", 0, 1)
	b.call(pid, pid, "close", 0, 2)
	ex := b.call(pid, pid, "exit_group", 0, 0)
	ex.Returned = false
	b.rec.Ended = observe.Exited
	return b.rec
}
