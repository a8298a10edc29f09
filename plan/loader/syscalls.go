package loader

import (
	"slices"

	"github.com/fencer-dev/fencer/internal/arch"
)

// Syscalls returns the syscalls "fencer exec" makes on archName
// (fencer's name, GOARCH or a uname -m spelling), in every thread, from the
// execve that starts it to the execve of the command: what a drop-in's
// SystemCallFilter= must allow besides the policy's own names, since
// systemd installs that filter before it starts the loader. The names are
// sorted and spelled as the architecture's syscall table spells them. It
// returns nil for an architecture fencer does not know.
//
// The list covers the fencer binary built either way: with cgo (the
// default on a glibc system, a dynamically linked binary, whose ld.so and
// glibc make calls of their own before the Go runtime starts) or without
// (CGO_ENABLED=0, a static binary). It includes the calls of the loader's
// failure paths (the message on stderr and exit_group), of stdio
// descriptors that are non-blocking (the Go runtime then registers them
// with epoll), of the Go runtime's occasional work (preempting a
// goroutine with tgkill, the signal's rt_sigreturn, sched_yield), and of
// the exec-once gate (seccomp with SECCOMP_GET_ACTION_AVAIL and
// SECCOMP_FILTER_FLAG_NEW_LISTENER, and the helper thread's gettid,
// nanosleep, ioctl on the listener, write and close).
//
// How each list was made:
//
//   - x86_64: measured with strace -f, all threads, on Linux 6.18, glibc
//     2.36 (Debian 12) and Go 1.26, over many runs of both builds, with a
//     raised soft RLIMIT_NOFILE, with non-blocking stdio and with a failing
//     check; and checked by TestLoaderStartsUnderItsList, which starts the
//     loader under a seccomp allow-list of exactly these names. A few are
//     derived, not measured: epoll_pwait (a write to a full non-blocking
//     stderr waits in it), geteuid, getegid and getgroups (exec.LookPath's
//     fallback where faccessat2 is missing, before Linux 5.8), and
//     restart_syscall (how the kernel resumes a nanosleep or a futex wait
//     with a timeout that a signal interrupted).
//   - aarch64, riscv64, ppc64le, s390x, arm: the static build's calls were
//     measured with qemu-user -strace up to the installation of the filter,
//     which qemu refuses; the calls after it (execve) and those of the cgo
//     build's ld.so and glibc are derived, not measured: the same calls as
//     on x86_64 under each architecture's names (no arch_prctl; faccessat
//     where glibc has no access; fstat64, fstatat64, statx, mmap2 and the
//     _time64 and 32-bit-id calls on 32-bit arm; set_tls for arm's TLS).
//   - i386: derived, not measured (the Go runtime for 386 does not run
//     under qemu-i386 to the end): arm's list with set_thread_area for the
//     TLS, which the partial qemu run showed.
func Syscalls(archName string) []string {
	a, ok := arch.Lookup(archName)
	if !ok {
		return nil
	}
	return slices.Clone(syscallTable[a.Name])
}

// syscallTable is Syscalls' table; each list is sorted.
var syscallTable = map[string][]string{
	"x86_64": sortedNames(
		// Measured, both builds.
		"arch_prctl", "clone", "close", "execve", "exit_group", "faccessat2",
		"fcntl", "fstat", "futex", "getpid", "gettid", "madvise", "mmap",
		"nanosleep", "newfstatat", "openat", "prctl", "pread64", "prlimit64",
		"read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
		"sched_getaffinity", "sched_yield", "seccomp", "sigaltstack", "tgkill",
		"write",
		// Measured with non-blocking stdio.
		"epoll_create1", "epoll_ctl", "eventfd2",
		// Measured, cgo build only (ld.so, glibc, pthread_create).
		"access", "brk", "clone3", "getrandom", "mprotect", "munmap", "rseq",
		"set_robust_list", "set_tid_address",
		// Derived.
		"epoll_pwait", "getegid", "geteuid", "getgroups", "restart_syscall",
		// Measured, both builds, with the exec-once gate: the helper
		// thread's SECCOMP_IOCTL_NOTIF_RECV and _SEND.
		"ioctl",
	),
	"aarch64": sortedNames(
		// Measured under qemu-aarch64, static build.
		"clock_gettime", "clone", "close", "execve", "exit_group", "faccessat2",
		"fcntl", "fstat", "futex", "getpid", "gettid", "madvise", "mmap",
		"nanosleep", "newfstatat", "openat", "prctl", "pread64", "prlimit64",
		"read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
		"sched_getaffinity", "sched_yield", "seccomp", "sigaltstack", "tgkill",
		"write",
		// Derived: non-blocking stdio, the faccessat2 fallback, cgo.
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid", "geteuid", "getgroups",
		"brk", "clone3", "faccessat", "getrandom", "mprotect", "munmap", "rseq",
		"set_robust_list", "set_tid_address",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
	"riscv64": sortedNames(
		// Measured under qemu-riscv64, static build.
		"clock_gettime", "clone", "close", "execve", "exit_group", "faccessat2",
		"fcntl", "fstat", "futex", "getpid", "gettid", "madvise", "mmap",
		"nanosleep", "newfstatat", "openat", "prctl", "pread64", "prlimit64",
		"read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
		"sched_getaffinity", "sched_yield", "seccomp", "sigaltstack", "tgkill",
		"write",
		// Derived: non-blocking stdio, the faccessat2 fallback, cgo.
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid", "geteuid", "getgroups",
		"brk", "clone3", "faccessat", "getrandom", "mprotect", "munmap", "rseq",
		"set_robust_list", "set_tid_address",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
	"ppc64le": sortedNames(
		// Measured under qemu-ppc64le, static build: the runtime opens
		// with open, os.Stat is stat.
		"clock_gettime", "clone", "close", "execve", "exit_group", "faccessat2",
		"fcntl", "fstat", "futex", "getpid", "gettid", "madvise", "mmap",
		"nanosleep", "open", "openat", "prctl", "pread64", "prlimit64", "read",
		"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
		"sched_yield", "seccomp", "sigaltstack", "stat", "tgkill", "write",
		// Derived: non-blocking stdio, the faccessat2 fallback, cgo.
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid", "geteuid", "getgroups",
		"access", "brk", "clone3", "getrandom", "mprotect", "munmap",
		"newfstatat", "rseq", "set_robust_list", "set_tid_address",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
	"s390x": sortedNames(
		// Measured under qemu-s390x, static build.
		"clock_gettime", "clone", "close", "execve", "exit_group", "faccessat2",
		"fcntl", "fstat", "futex", "getpid", "gettid", "madvise", "mmap",
		"nanosleep", "open", "openat", "prctl", "pread64", "prlimit64", "read",
		"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
		"sched_yield", "seccomp", "sigaltstack", "stat", "tgkill", "write",
		// Derived: non-blocking stdio, the faccessat2 fallback, cgo.
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid", "geteuid", "getgroups",
		"access", "brk", "clone3", "getrandom", "mprotect", "munmap",
		"newfstatat", "rseq", "set_robust_list", "set_tid_address",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
	"arm": sortedNames(
		// Measured under qemu-arm, static build (GOARM=7).
		"brk", "clock_gettime", "clone", "close", "execve", "exit_group",
		"faccessat2", "fcntl", "fstat64", "fstatat64", "getpid", "gettid",
		"madvise", "mmap2", "nanosleep", "open", "openat", "prctl", "pread64",
		"prlimit64", "read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
		"sched_getaffinity", "sched_yield", "seccomp", "sigaltstack", "tgkill",
		"uname", "write",
		// Derived: futex (not met in the runs), non-blocking stdio, the
		// faccessat2 fallback, cgo (32-bit glibc uses the _time64 calls,
		// statx for fstat, fcntl64 and set_tls).
		"futex", "futex_time64",
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid32", "geteuid32", "getgroups32",
		"access", "clock_gettime64", "clone3", "fcntl64", "getrandom",
		"mprotect", "munmap", "rseq", "set_robust_list", "set_tid_address",
		"set_tls", "statx",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
	"i386": sortedNames(
		// Derived from arm's list; set_thread_area, uname, mmap2 and open
		// were seen in a partial run under qemu-i386.
		"brk", "clock_gettime", "clone", "close", "execve", "exit_group",
		"faccessat2", "fcntl", "fstat64", "fstatat64", "futex", "futex_time64",
		"getpid", "gettid", "madvise", "mmap2", "nanosleep", "open", "openat",
		"prctl", "pread64", "prlimit64", "read", "rt_sigaction",
		"rt_sigprocmask", "rt_sigreturn", "sched_getaffinity", "sched_yield",
		"seccomp", "set_thread_area", "sigaltstack", "tgkill", "uname", "write",
		"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall",
		"getegid32", "geteuid32", "getgroups32",
		"access", "clock_gettime64", "clone3", "fcntl64", "getrandom",
		"mprotect", "munmap", "rseq", "set_robust_list", "set_tid_address",
		"statx",
		// Derived: the exec-once helper thread (as on x86_64).
		"ioctl",
	),
}

// sortedNames returns names sorted, without duplicates.
func sortedNames(names ...string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
