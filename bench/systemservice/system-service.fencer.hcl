# systemd's @system-service syscall group as `systemd-analyze syscall-filter` of systemd 252 (252.38-1~deb12u1)
# lists it, 376 names with the groups it includes expanded, as a fencer configuration: each
# syscall of the group allowed whatever its arguments, any other kills the process.
# Left out, as systemd's libseccomp does not know them and systemd skips them: uretprobe.
# Written by internal/syscallgroups/cmd/groupgen (go generate ./internal/syscallgroups): do not edit.

fencer {
  id = "systemservice"
}

service "system-service" {
  unit           = "system-service.service"
  default_action = kill_process

  rule "system_service" {
    syscalls = [
      "accept4", "add_key", "bind", "brk", "capget", "capset", "chdir",
      "clock_getres", "clock_gettime", "clock_nanosleep", "clone", "clone3", "close", "close_range",
      "connect", "copy_file_range", "dup", "dup3", "epoll_create1", "epoll_ctl", "epoll_pwait",
      "epoll_pwait2", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
      "faccessat2", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat",
      "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr",
      "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "get_mempolicy",
      "get_robust_list", "getcpu", "getcwd", "getdents64", "getegid", "geteuid", "getgid",
      "getgroups", "getitimer", "getpeername", "getpgid", "getpid", "getppid", "getpriority",
      "getrandom", "getresgid", "getresuid", "getrusage", "getsid", "getsockname", "getsockopt",
      "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init1",
      "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup",
      "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl", "ioprio_get",
      "ioprio_set", "kcmp", "keyctl", "kill", "lgetxattr", "linkat", "listen", "listxattr",
      "llistxattr", "lremovexattr", "lseek", "lsetxattr", "madvise", "mbind", "membarrier",
      "memfd_create", "migrate_pages", "mkdirat", "mknodat", "mlock", "mlock2", "mlockall",
      "move_pages", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
      "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
      "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "openat", "openat2",
      "personality", "pidfd_open", "pidfd_send_signal", "pipe2", "ppoll", "prctl", "pread64",
      "preadv", "preadv2", "prlimit64", "process_madvise", "process_vm_readv", "process_vm_writev",
      "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlinkat", "readv",
      "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "renameat2",
      "request_key", "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
      "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
      "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
      "sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
      "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "semctl", "semget",
      "sendfile", "sendmmsg", "sendmsg", "sendto", "set_mempolicy", "set_mempolicy_home_node",
      "set_robust_list", "set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups",
      "setitimer", "setns", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
      "setreuid", "setrlimit", "setsid", "setsockopt", "setuid", "setxattr", "shmat", "shmctl",
      "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd4", "socket", "socketpair", "splice",
      "statfs", "statx", "symlinkat", "sync", "syncfs", "sysinfo", "tee", "tgkill", "timer_create",
      "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
      "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname",
      "unlinkat", "unshare", "userfaultfd", "utimensat", "vmsplice", "wait4", "waitid", "write",
      "writev",
    ]
  }

  # The group's names that are syscalls on some architectures only.
  rule "on_i386_arm" {
    arch     = ["i386", "arm"]
    syscalls = [
      "chown32", "clock_getres_time64", "clock_gettime64",
      "clock_nanosleep_time64", "fchown32", "fcntl64", "fstat64", "fstatat64", "ftruncate64",
      "futex_time64", "getegid32", "geteuid32", "getgid32", "getgroups32", "getresgid32",
      "getresuid32", "getuid32", "io_pgetevents_time64", "lchown32", "lstat64", "mmap2",
      "mq_timedreceive_time64", "mq_timedsend_time64", "ppoll_time64", "pselect6_time64",
      "recvmmsg_time64", "rt_sigtimedwait_time64", "sched_rr_get_interval_time64",
      "semtimedop_time64", "sendfile64", "setfsgid32", "setfsuid32", "setgid32", "setgroups32",
      "setregid32", "setresgid32", "setresuid32", "setreuid32", "setuid32", "stat64",
      "timer_gettime64", "timer_settime64", "timerfd_gettime64", "timerfd_settime64", "truncate64",
      "utimensat_time64",
    ]
  }

  rule "on_x86_64_i386_arm_ppc64le_s390x" {
    arch     = ["x86_64", "i386", "arm", "ppc64le", "s390x"]
    syscalls = [
      "access", "chmod", "chown", "creat", "dup2", "epoll_create", "epoll_wait",
      "eventfd", "fork", "futimesat", "getdents", "getpgrp", "inotify_init", "lchown", "link",
      "lstat", "mkdir", "mknod", "open", "pause", "pipe", "poll", "readlink", "rename", "rmdir",
      "signalfd", "stat", "symlink", "unlink", "utimes", "vfork",
    ]
  }

  rule "on_i386_arm_ppc64le_s390x" {
    arch     = ["i386", "arm", "ppc64le", "s390x"]
    syscalls = [
      "fstatfs64", "nice", "sigaction", "sigpending", "sigprocmask", "sigreturn",
      "sigsuspend", "statfs64",
    ]
  }

  rule "on_i386_ppc64le" {
    arch     = ["i386", "ppc64le"]
    syscalls = [
      "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "waitpid",
    ]
  }

  rule "on_i386_ppc64le_s390x" {
    arch     = ["i386", "ppc64le", "s390x"]
    syscalls = [
      "ipc", "readdir", "signal", "socketcall",
    ]
  }

  rule "on_arm" {
    arch     = ["arm"]
    syscalls = [
      "arm_fadvise64_64", "cacheflush", "set_tls",
    ]
  }

  rule "on_arm_ppc64le" {
    arch     = ["arm", "ppc64le"]
    syscalls = [
      "recv", "send", "sync_file_range2",
    ]
  }

  rule "on_i386_arm_ppc64le" {
    arch     = ["i386", "arm", "ppc64le"]
    syscalls = [
      "_llseek", "_newselect", "ugetrlimit",
    ]
  }

  rule "on_x86_64_aarch64_i386_riscv64_ppc64le_s390x" {
    arch     = ["x86_64", "aarch64", "i386", "riscv64", "ppc64le", "s390x"]
    syscalls = [
      "fadvise64", "getrlimit", "mmap",
    ]
  }

  rule "on_x86_64_i386" {
    arch     = ["x86_64", "i386"]
    syscalls = [
      "arch_prctl", "get_thread_area", "set_thread_area",
    ]
  }

  rule "on_x86_64_i386_ppc64le_s390x" {
    arch     = ["x86_64", "i386", "ppc64le", "s390x"]
    syscalls = [
      "alarm", "select", "utime",
    ]
  }

  rule "on_riscv64" {
    arch     = ["riscv64"]
    syscalls = [
      "riscv_flush_icache", "riscv_hwprobe",
    ]
  }

  rule "on_x86_64" {
    arch     = ["x86_64"]
    syscalls = [
      "epoll_ctl_old", "epoll_wait_old",
    ]
  }

  rule "on_i386" {
    arch     = ["i386"]
    syscalls = [
      "fadvise64_64",
    ]
  }

  rule "on_ppc64le" {
    arch     = ["ppc64le"]
    syscalls = [
      "swapcontext",
    ]
  }

  rule "on_x86_64_aarch64_arm_riscv64" {
    arch     = ["x86_64", "aarch64", "arm", "riscv64"]
    syscalls = [
      "semop",
    ]
  }

  rule "on_x86_64_aarch64_arm_riscv64_ppc64le" {
    arch     = ["x86_64", "aarch64", "arm", "riscv64", "ppc64le"]
    syscalls = [
      "accept",
    ]
  }

  rule "on_x86_64_aarch64_arm_riscv64_ppc64le_s390x" {
    arch     = ["x86_64", "aarch64", "arm", "riscv64", "ppc64le", "s390x"]
    syscalls = [
      "semtimedop",
    ]
  }

  rule "on_x86_64_aarch64_i386_arm_ppc64le_s390x" {
    arch     = ["x86_64", "aarch64", "i386", "arm", "ppc64le", "s390x"]
    syscalls = [
      "renameat",
    ]
  }

  rule "on_x86_64_aarch64_i386_riscv64_s390x" {
    arch     = ["x86_64", "aarch64", "i386", "riscv64", "s390x"]
    syscalls = [
      "sync_file_range",
    ]
  }

  rule "on_x86_64_aarch64_riscv64_ppc64le_s390x" {
    arch     = ["x86_64", "aarch64", "riscv64", "ppc64le", "s390x"]
    syscalls = [
      "newfstatat",
    ]
  }

  rule "on_x86_64_i386_ppc64le" {
    arch     = ["x86_64", "i386", "ppc64le"]
    syscalls = [
      "time",
    ]
  }
}
