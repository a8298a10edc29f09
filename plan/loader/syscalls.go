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

// The parts the lists are made of. Each part is the same calls on every
// architecture that has it, under its names; where a part was measured
// and where derived is in Syscalls' comment and on each list.
var (
	// staticCore is what the static build makes on every architecture:
	// the Go runtime, the loader's checks and the installation of the
	// filter, up to and including the execve of the command.
	staticCore = []string{
		"clone", "close", "execve", "exit_group", "faccessat2", "fcntl",
		"futex", "getpid", "gettid", "madvise", "nanosleep", "openat", "prctl",
		"pread64", "prlimit64", "read", "rt_sigaction", "rt_sigprocmask",
		"rt_sigreturn", "sched_getaffinity", "sched_yield", "seccomp",
		"sigaltstack", "tgkill", "write",
	}
	// nonBlockingStdio is what stdio descriptors that are non-blocking
	// add (the Go runtime registers them with epoll; a write to a full
	// non-blocking stderr waits in epoll_pwait), with restart_syscall (how
	// the kernel resumes a nanosleep or a futex wait with a timeout that a
	// signal interrupted).
	nonBlockingStdio = []string{"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "restart_syscall"}
	// idFallback is exec.LookPath's fallback where faccessat2 is missing
	// (before Linux 5.8), idFallback32 the same on 32-bit architectures.
	idFallback   = []string{"getegid", "geteuid", "getgroups"}
	idFallback32 = []string{"getegid32", "geteuid32", "getgroups32"}
	// cgoCore is what the cgo build's ld.so, glibc and pthread_create add
	// on every architecture.
	cgoCore = []string{"brk", "clone3", "getrandom", "mprotect", "munmap", "rseq", "set_robust_list", "set_tid_address"}
	// execOnceHelper is the exec-once helper thread's
	// SECCOMP_IOCTL_NOTIF_RECV and _SEND (its other calls are in
	// staticCore).
	execOnceHelper = []string{"ioctl"}
)

// loaderList is a list of Syscalls' table: the shared parts and what the
// architecture has of its own.
func loaderList(own ...[]string) []string {
	all := [][]string{staticCore, nonBlockingStdio, cgoCore, execOnceHelper}
	return sortedNames(slices.Concat(append(all, own...)...)...)
}

// syscallTable is Syscalls' table; each list is sorted.
var syscallTable = map[string][]string{
	// Measured: staticCore and arch_prctl, fstat, mmap and newfstatat on
	// both builds, cgoCore and access on the cgo build, nonBlockingStdio
	// with non-blocking stdio, the exec-once helper's ioctl; but for
	// epoll_pwait, restart_syscall and idFallback, which are derived.
	"x86_64": loaderList(idFallback,
		[]string{"arch_prctl", "fstat", "mmap", "newfstatat"},
		// cgo build only.
		[]string{"access"}),
	// Measured under qemu, static build: staticCore and what generic64
	// adds but faccessat; the rest derived.
	"aarch64": generic64,
	"riscv64": generic64,
	// Measured under qemu, static build: staticCore and what openStat64
	// adds but access and newfstatat; the rest derived.
	"ppc64le": openStat64,
	"s390x":   openStat64,
	// Measured under qemu-arm, static build (GOARM=7): staticCore but
	// futex (not met in the runs), brk, and the first list here but
	// futex_time64; the rest derived: 32-bit glibc uses the _time64
	// calls, statx for fstat, fcntl64 and set_tls.
	"arm": loaderList(idFallback32,
		[]string{"clock_gettime", "fstat64", "fstatat64", "mmap2", "open", "uname", "futex_time64"},
		[]string{"access", "clock_gettime64", "fcntl64", "set_tls", "statx"}),
	// Derived from arm's list; set_thread_area (i386's TLS), uname, mmap2
	// and open were seen in a partial run under qemu-i386.
	"i386": loaderList(idFallback32,
		[]string{"clock_gettime", "fstat64", "fstatat64", "mmap2", "open", "uname", "futex_time64", "set_thread_area"},
		[]string{"access", "clock_gettime64", "fcntl64", "statx"}),
}

var (
	// generic64 is aarch64's and riscv64's list: no arch_prctl, and
	// faccessat where glibc has no access.
	generic64 = loaderList(idFallback,
		[]string{"clock_gettime", "fstat", "mmap", "newfstatat"},
		[]string{"faccessat"})
	// openStat64 is ppc64le's and s390x's list: the runtime opens with
	// open, os.Stat is stat.
	openStat64 = loaderList(idFallback,
		[]string{"clock_gettime", "fstat", "mmap", "open", "stat"},
		[]string{"access", "newfstatat"})
)

// sortedNames returns names sorted, without duplicates.
func sortedNames(names ...string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
