# Debian's redis-server (7.0) as a person would write its policy after
# reading strace: start-up as the dynamic loader and libc run it, a
# Type=notify service (sd_notify), clients on TCP, BGSAVE's fork and
# SAVE's rename in the working directory. Written by hand for the
# acceptance tests and the throughput benchmark in e2e, to compare with
# the policy `fencer record` writes.

variable "log_path" {
  type    = string
  default = "/var/log/redis/redis.log"
}

service "redis" {
  unit           = "redis.service"
  default_action = kill_process

  # logfile "" in redis.conf: the log goes to stdout, a file systemd opens.
  fd "log" {
    stdout = "append:${var.log_path}"
  }

  # The dynamic loader and libc's start-up, memory and threads.
  rule "process" {
    syscalls = ["brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
      "prlimit64", "getrandom", "munmap", "madvise", "futex",
      "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",
      "sched_getaffinity", "sysinfo", "getpid", "gettid", "exit", "exit_group",
      "prctl", "setitimer", "umask", "getcwd", "readlink", "access",
    "uname", "getuid", "geteuid", "getgid", "getegid", "getppid"]
  }

  # Memory is never writable and executable at once.
  rule "memory" {
    syscalls = ["mmap", "mprotect"]
    when     = masked(arg2, bitor(PROT_WRITE, PROT_EXEC)) != bitor(PROT_WRITE, PROT_EXEC)
  }

  # Files: libraries and /proc at start-up, the RDB file of SAVE and
  # BGSAVE. seccomp sees no paths: the flags are all it can check.
  rule "open" {
    syscalls = ["openat"]
    when     = contains([O_RDONLY, bitor(O_RDONLY, O_CLOEXEC), bitor(O_WRONLY, O_CREAT, O_TRUNC)], arg2)
  }
  rule "open_legacy" {
    syscalls = ["open"]
    when     = contains([O_RDONLY, bitor(O_RDONLY, O_CLOEXEC)], arg1)
  }
  # sync_file_range: the RDB file is synced every 4 MB as it is written
  # (rdb-save-incremental-fsync). writev: a reply larger than the
  # client's 16 kB buffer (HGETALL of a large hash).
  rule "files" {
    syscalls = ["read", "write", "writev", "pread64", "lseek", "close", "newfstatat", "fstat",
    "fsync", "fdatasync", "sync_file_range", "rename", "fcntl", "ioctl", "pipe2"]
  }

  # Redis's background threads, and BGSAVE's child that writes the RDB
  # file; no other clone. clone3 takes its flags in memory, where the
  # filter cannot read them: ENOSYS makes glibc fall back to clone.
  rule "threads_and_fork" {
    syscalls = ["clone"]
    when = contains([
      bitor(CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM,
      CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID),
      bitor(CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, SIGCHLD),
    ], arg0)
    arch = ["x86_64"]
  }
  rule "no_clone3" {
    syscalls = ["clone3"]
    action   = errno(ENOSYS)
  }
  rule "wait" {
    syscalls = ["wait4", "kill"]
  }

  # The listening socket on TCP, sd_notify on a Unix datagram socket.
  rule "socket" {
    syscalls = ["socket"]
    when     = contains([AF_INET, AF_INET6, AF_UNIX], arg0)
  }
  rule "network" {
    syscalls = ["bind", "listen", "connect", "sendmsg", "sendto", "accept4",
      "getpeername", "getsockname", "setsockopt", "getsockopt",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait"]
  }
}

test "redis: execve after start is refused (exec once)" {
  service = "redis"
  syscall = "execve"
  expect  = exec_once
}

test "redis: chdir (CONFIG SET dir) kills" {
  service = "redis"
  syscall = "chdir"
  expect  = kill_process
}

test "redis: an RDB file is created" {
  service = "redis"
  syscall = "openat"
  args    = [AT_FDCWD, 0, bitor(O_WRONLY, O_CREAT, O_TRUNC), 438]
  expect  = allow
}

test "redis: a file opened read-write kills" {
  service = "redis"
  syscall = "openat"
  args    = [AT_FDCWD, 0, bitor(O_RDWR, O_CREAT), 384]
  expect  = kill_process
}

test "redis: writable and executable memory kills" {
  service = "redis"
  syscall = "mmap"
  args    = [0, 4096, bitor(PROT_READ, PROT_WRITE, PROT_EXEC), bitor(MAP_PRIVATE, MAP_ANONYMOUS)]
  expect  = kill_process
}

test "redis: a thread-sharing clone kills" {
  service = "redis"
  syscall = "clone"
  args    = [bitor(CLONE_VM, CLONE_THREAD)]
  expect  = kill_process
}

test "redis: ptrace kills" {
  service = "redis"
  syscall = "ptrace"
  expect  = kill_process
}
