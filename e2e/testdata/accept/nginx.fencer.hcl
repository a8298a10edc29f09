# Debian's nginx (1.22) as a person would write its policy after reading
# strace: a master that daemonizes (Type=forking, as Debian's unit runs
# it), opens its logs, pid file and temporary directories and forks
# workers that drop to an unprivileged user and serve static files.
# Written by hand for the acceptance tests and the throughput benchmark
# in e2e, to compare with the policy `fencer record` writes.

service "nginx" {
  unit           = "nginx.service"
  default_action = kill_process

  # The dynamic loader and libc's start-up, signals, memory.
  rule "process" {
    syscalls = ["brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
      "prlimit64", "getrandom", "munmap", "madvise", "futex",
      "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "restart_syscall",
      "sysinfo", "uname", "getpid", "getppid", "gettid", "geteuid", "getuid",
      "exit", "exit_group", "prctl", "setitimer", "umask", "access",
    "setsid", "dup2", "kill", "wait4"]
  }

  # Memory is never writable and executable at once.
  rule "memory" {
    syscalls = ["mmap", "mprotect"]
    when     = masked(arg2, bitor(PROT_WRITE, PROT_EXEC)) != bitor(PROT_WRITE, PROT_EXEC)
  }

  # The daemon's fork and the workers; no threads.
  rule "fork" {
    syscalls = ["clone"]
    when     = arg0 == bitor(CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, SIGCHLD)
    arch     = ["x86_64"]
  }
  rule "no_clone3" {
    syscalls = ["clone3"]
    action   = errno(ENOSYS)
  }

  # Workers drop root for the configured user.
  rule "drop_root" {
    syscalls = ["setgid", "setgroups", "setuid"]
  }

  # Files: static files, libraries and NSS read-only; logs appended; the
  # pid file and /dev/null read-write. The temporary directories are
  # made at start-up. seccomp sees no paths: the flags are all it can
  # check, so a request body written to a temporary file
  # (O_RDWR|O_CREAT|O_EXCL) kills.
  rule "open" {
    syscalls = ["openat"]
    when = contains([O_RDONLY, bitor(O_RDONLY, O_NONBLOCK), bitor(O_RDONLY, O_CLOEXEC),
      bitor(O_WRONLY, O_CREAT, O_APPEND), bitor(O_RDWR, O_CREAT, O_TRUNC), O_RDWR,
    ], arg2)
  }
  rule "files" {
    syscalls = ["read", "pread64", "write", "writev", "pwrite64", "sendfile", "lseek",
      "close", "newfstatat", "fstat", "fcntl", "ioctl", "mkdir", "chown", "unlink",
    "eventfd2", "socketpair"]
  }

  # The listening socket, clients, the master's channels to its workers,
  # and NSS's attempt at nscd (a Unix socket).
  rule "socket" {
    syscalls = ["socket"]
    when     = contains([AF_INET, AF_INET6, AF_UNIX], arg0)
  }
  rule "network" {
    syscalls = ["bind", "listen", "connect", "accept4", "recvfrom", "recvmsg", "sendmsg",
      "sendto", "setsockopt", "getsockopt", "getsockname", "shutdown",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait"]
  }
}

test "nginx: execve after start is refused (exec once)" {
  service = "nginx"
  syscall = "execve"
  expect  = exec_once
}

test "nginx: the binary upgrade's rename of the pid file kills" {
  service = "nginx"
  syscall = "rename"
  expect  = kill_process
}

test "nginx: a request body's temporary file kills" {
  service = "nginx"
  syscall = "openat"
  args    = [AT_FDCWD, 0, bitor(O_RDWR, O_CREAT, O_EXCL), 384]
  expect  = kill_process
}

test "nginx: a static file is opened" {
  service = "nginx"
  syscall = "openat"
  args    = [AT_FDCWD, 0, bitor(O_RDONLY, O_NONBLOCK)]
  expect  = allow
}

test "nginx: threads kill" {
  service = "nginx"
  syscall = "clone"
  args    = [bitor(CLONE_VM, CLONE_THREAD)]
  expect  = kill_process
}

test "nginx: ptrace kills" {
  service = "nginx"
  syscall = "ptrace"
  expect  = kill_process
}
