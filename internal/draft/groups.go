package draft

// group is a set of syscalls a person puts in one rule.
type group struct {
	// name is the rule's name (and its prefix when the group's syscalls
	// need several rules).
	name string
	// about is the comment above the group's rules.
	about string
	// syscalls are the group's members.
	syscalls []string
}

// startupGroup holds the syscalls seen only before the first wait.
const startupGroup = "startup"

// groups are the groups in the order Write writes them. A syscall in none
// is in "other"; one seen only during start-up is in "startup" whatever
// its group.
var groups = []group{
	{"memory", "Memory: the heap, mappings and their protection.", []string{
		"brk", "mmap", "mmap2", "old_mmap", "munmap", "mprotect", "pkey_mprotect", "mremap", "madvise",
		"mlock", "mlock2", "munlock", "mlockall", "munlockall", "msync", "mincore", "membarrier",
		"pkey_alloc", "pkey_free", "set_mempolicy", "get_mempolicy", "mbind", "remap_file_pages",
		"process_madvise", "map_shadow_stack", "mseal",
	}},
	{"files", "Files, by path and through the fds the program opens itself.", []string{
		"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at",
		"stat", "lstat", "fstat", "newfstatat", "fstatat64", "stat64", "lstat64", "fstat64", "statx",
		"statfs", "fstatfs", "statfs64", "fstatfs64", "access", "faccessat", "faccessat2",
		"readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
		"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
		"link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2",
		"chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "ftruncate64", "fallocate",
		"utime", "utimes", "utimensat", "futimesat", "flock", "fadvise64", "fadvise64_64",
		"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
		"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
		"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
		"fanotify_init", "fanotify_mark", "memfd_create", "umask", "chroot", "sync", "syncfs",
	}},
	{"io", "Reading and writing fds, and the fds themselves.", []string{
		"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
		"lseek", "_llseek", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
		"fsync", "fdatasync", "sync_file_range", "sync_file_range2",
		"close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "ioctl", "pipe", "pipe2",
		"io_setup", "io_destroy", "io_submit", "io_getevents", "io_pgetevents", "io_cancel",
		"io_uring_setup", "io_uring_enter", "io_uring_register",
	}},
	{"sockets", "Sockets: made, connected, accepted, written and read.", []string{
		"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
		"getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown",
		"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64",
		"send", "recv", "socketcall",
	}},
	{"wait", "Waiting for work: readiness of fds, events and timers.", []string{
		"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
		"poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
		"eventfd", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
		"timerfd_settime64", "timerfd_gettime64",
	}},
	{"threads", "Threads: their creation, their locks and their end.", []string{
		"clone", "clone3", "futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
		"set_robust_list", "get_robust_list", "set_tid_address", "rseq", "gettid", "exit",
		"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
		"sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
		"getcpu", "arch_prctl", "set_thread_area", "get_thread_area", "set_tls",
	}},
	{"time", "Time: clocks, sleeps and timers.", []string{
		"clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64", "gettimeofday", "time",
		"nanosleep", "clock_nanosleep", "clock_nanosleep_time64", "times",
		"timer_create", "timer_settime", "timer_settime64", "timer_gettime", "timer_gettime64", "timer_delete",
		"timer_getoverrun", "alarm", "setitimer", "getitimer",
	}},
	{"signals", "Signals: handlers, masks and delivery.", []string{
		"rt_sigaction", "sigaction", "rt_sigprocmask", "sigprocmask", "rt_sigreturn", "sigreturn",
		"sigaltstack", "kill", "tkill", "tgkill", "rt_sigsuspend", "sigsuspend", "rt_sigtimedwait",
		"rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigpending", "sigpending",
		"signalfd", "signalfd4", "pause", "restart_syscall", "pidfd_send_signal",
	}},
	{"process", "The process: its ids, limits and children.", []string{
		"getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
		"getuid32", "geteuid32", "getgid32", "getegid32", "getresuid32", "getresgid32", "getgroups", "getgroups32",
		"setuid", "setgid", "setresuid", "setresgid", "setgroups", "setuid32", "setgid32", "setresuid32",
		"setresgid32", "setgroups32", "setsid", "setpgid", "getpgid", "getpgrp", "getsid",
		"prctl", "prlimit64", "getrlimit", "ugetrlimit", "setrlimit", "getrusage", "getpriority", "setpriority",
		"capget", "capset", "uname", "sysinfo", "personality", "getrandom",
		"fork", "vfork", "wait4", "waitid", "execve", "exit_group", "pidfd_open", "pidfd_getfd",
	}},
}

// groupOf maps a syscall to the index of its group in groups.
var groupOf = func() map[string]int {
	m := map[string]int{}
	for i, g := range groups {
		for _, s := range g.syscalls {
			m[s] = i
		}
	}
	return m
}()

// otherGroup is the group of syscalls in none of groups.
var otherGroup = group{"other", "Anything else the program did.", nil}
