# Written by fencer record -- /usr/bin/redis-server --port 7791 --save  --appendonly no --daemonize no, from 4484 calls over 4.986s.
# Read it before you keep it: it allows what this run did, and nothing it did not.
#
# A policy drafted by fencer from a recording of the command /usr/bin/redis-server --port 7791 --save  --appendonly no --daemonize no on x86_64:
# 4484 calls in 1 process, 5 threads, over 4.986s; the recording's time ran out.
# Start-up: the 385 calls before the first epoll_wait (at 803ms); the rest is the steady state.
# Every rule allows what the recording saw; review the rules and the tests below before you apply it:
# a path the program did not take while it was recorded is not in it.

service "redis-server" {
  unit           = "redis-server.service"
  arch           = ["x86_64"]
  default_action = kill_process

  # No recorded call used it.
  fd "stdin" {
    number = 0
  }

  # Used by ioctl 1, write 16.
  fd "stdout" {
    number = 1
  }

  # No recorded call used it.
  fd "stderr" {
    number = 2
  }

  # Files, by path and through the fds the program opens itself.
  # openat: 66 calls, 30 at start-up, 36 after, 3 failed.
  #   paths: /proc/self/stat (36), /dev/urandom, /etc/ld.so.cache, /etc/localtime, /lib/x86_64-linux-gnu/libatomic.so.1, /lib/x86_64-linux-gnu/libc.so.6, /lib/x86_64-linux-gnu/libcap.so.2, /lib/x86_64-linux-gnu/libcrypto.so.3 and 23 more
  # Every file was opened read-only.
  rule "files_openat" {
    syscalls = ["openat"]
    when     = masked(arg2, O_ACCMODE) == O_RDONLY
  }

  # Reading and writing fds, and the fds themselves.
  # close: 68 calls, 29 at start-up, 39 after.
  # read: 1817 calls, 32 at start-up, 1785 after.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "io_own_fds" {
    syscalls = ["close", "read"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0)
  }

  # write: 1759 calls, 8 at start-up, 1751 after.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "io_own_fds_2" {
    syscalls = ["write"]
    when     = !contains([fd.stdin, fd.stderr], arg0)
  }

  # Sockets: made, connected, accepted, written and read.
  # getpeername: 6 calls, all after start-up.
  # setsockopt: 33 calls, 3 at start-up, 30 after.
  rule "sockets" {
    syscalls = ["getpeername", "setsockopt"]
  }

  # accept4: 8 calls, all after start-up, 2 failed.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "sockets_accept4" {
    syscalls = ["accept4"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0) && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }

  # Waiting for work: readiness of fds, events and timers.
  # epoll_wait: 423 calls, all after start-up.
  rule "wait" {
    syscalls = ["epoll_wait"]
  }

  # epoll_ctl: 10 calls, 3 at start-up, 7 after.
  rule "wait_epoll_ctl" {
    syscalls = ["epoll_ctl"]
    when     = contains([EPOLL_CTL_ADD, EPOLL_CTL_DEL], arg1)
  }

  # Threads: their creation, their locks and their end.
  # futex: 24 calls, 17 at start-up, 7 after.
  rule "threads" {
    syscalls = ["futex"]
  }

  # clone: not recorded; glibc's fallback when clone3 fails.
  rule "threads_clone" {
    syscalls = ["clone"]
    when     = arg0 == bitor(CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID)
  }

  # Signals: handlers, masks and delivery.
  # rt_sigreturn: 1 call, all after start-up.
  rule "signals" {
    syscalls = ["rt_sigreturn"]
  }

  # The process: its ids, limits and children.
  # exit_group: 1 call, all after start-up.
  # getpid: 27 calls, 22 at start-up, 5 after.
  rule "process" {
    syscalls = ["exit_group", "getpid"]
  }

  # Start-up only: seen before the first wait for work and never after. The filter cannot tell start-up from the steady state: these stay allowed for the process's whole life.
  # access: 1 call, all at start-up, 1 failed.
  #   paths: /etc/ld.so.preload
  # arch_prctl: 1 call, all at start-up.
  # brk: 2 calls, all at start-up.
  # epoll_create: 1 call, all at start-up.
  # madvise: 2 calls, all at start-up.
  # munmap: 3 calls, all at start-up.
  # newfstatat: 30 calls, all at start-up, 1 failed.
  #   paths: appendonlydir
  # readlink: 1 call, all at start-up, 1 failed.
  #   paths: /etc/malloc.conf
  # rseq: 5 calls, all at start-up.
  # rt_sigaction: 11 calls, all at start-up.
  # rt_sigprocmask: 18 calls, all at start-up.
  # sched_getaffinity: 1 call, all at start-up.
  # set_robust_list: 5 calls, all at start-up.
  # set_tid_address: 1 call, all at start-up.
  # setitimer: 1 call, all at start-up.
  # sysinfo: 1 call, all at start-up.
  # umask: 2 calls, all at start-up.
  rule "startup" {
    syscalls = ["access", "arch_prctl", "brk", "epoll_create", "madvise", "munmap", "newfstatat", "readlink", "rseq", "rt_sigaction", "rt_sigprocmask", "sched_getaffinity", "set_robust_list", "set_tid_address", "setitimer", "sysinfo", "umask"]
  }

  # bind: 2 calls, all at start-up.
  # listen: 2 calls, all at start-up.
  # lseek: 1 call, all at start-up.
  # pread64: 2 calls, all at start-up.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "startup_own_fds" {
    syscalls = ["bind", "listen", "lseek", "pread64"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0)
  }

  # clone3: 4 calls, all at start-up.
  # clone3 takes its flags in memory, where no filter sees them: it fails with ENOSYS, and glibc
  # falls back to clone, whose flags the rule on clone checks (it allows the flags clone3 was given).
  rule "startup_clone3" {
    syscalls = ["clone3"]
    action   = errno(ENOSYS)
  }

  # fcntl: 10 calls, all at start-up.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "startup_fcntl" {
    syscalls = ["fcntl"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0) && contains([F_GETFD, F_SETFD, F_GETFL, F_SETFL], arg1)
  }

  # getrandom: 2 calls, all at start-up.
  rule "startup_getrandom" {
    syscalls = ["getrandom"]
    when     = arg2 == 0
  }

  # ioctl: 2 calls, all at start-up, 2 failed.
  # arg0: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "startup_ioctl" {
    syscalls = ["ioctl"]
    when     = !contains([fd.stdin, fd.stderr], arg0) && arg1 == TCGETS
  }

  # mmap: 90 calls, all at start-up.
  # No mapping was writable and executable at once.
  # arg4: the fds the program opened itself, whose numbers change from run to run, but none it started with that it never used here.
  rule "startup_mmap" {
    syscalls = ["mmap"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC)) && !contains([fd.stdin, fd.stdout, fd.stderr], arg4)
  }

  # mprotect: 22 calls, all at start-up.
  # No mapping was writable and executable at once.
  rule "startup_mprotect" {
    syscalls = ["mprotect"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC))
  }

  # open: 2 calls, all at start-up.
  #   paths: /proc/sys/vm/overcommit_memory, /sys/kernel/mm/transparent_hugepage/enabled
  # Every file was opened read-only.
  rule "startup_open" {
    syscalls = ["open"]
    when     = masked(arg1, O_ACCMODE) == O_RDONLY
  }

  # pipe2: 1 call, all at start-up.
  rule "startup_pipe2" {
    syscalls = ["pipe2"]
    when     = arg1 == bitor(O_CLOEXEC, O_NONBLOCK)
  }

  # prctl: 10 calls, all at start-up, 4 failed.
  rule "startup_prctl" {
    syscalls = ["prctl"]
    when     = contains([PR_SET_NAME, PR_CAPBSET_READ], arg0)
  }

  # prlimit64: 2 calls, all at start-up.
  # Only on the process itself (0).
  rule "startup_prlimit64" {
    syscalls = ["prlimit64"]
    when     = arg0 == 0 && contains([RLIMIT_STACK, RLIMIT_NOFILE], arg1)
  }

  # socket: 2 calls, all at start-up.
  rule "startup_socket" {
    syscalls = ["socket"]
    when     = contains([AF_INET, AF_INET6], arg0) && arg1 == SOCK_STREAM
  }
}

test "files_openat: openat as recorded" {
  service = "redis-server"
  syscall = "openat"
  args    = [0, 0, bitor(O_RDONLY, O_CLOEXEC)]
  expect  = allow
}

test "files_openat: openat with flags O_RDWR is refused" {
  service = "redis-server"
  syscall = "openat"
  args    = [0, 0, O_RDWR]
  expect  = kill_process
}

test "io_own_fds: close as recorded" {
  service = "redis-server"
  syscall = "close"
  args    = [3]
  expect  = allow
}

test "io_own_fds: close on fd.stdin is refused" {
  service = "redis-server"
  syscall = "close"
  args    = [fd.stdin]
  expect  = kill_process
}

test "io_own_fds_2: write as recorded" {
  service = "redis-server"
  syscall = "write"
  args    = [fd.stdout]
  expect  = allow
}

test "io_own_fds_2: write on fd.stdin is refused" {
  service = "redis-server"
  syscall = "write"
  args    = [fd.stdin]
  expect  = kill_process
}

test "sockets: getpeername as recorded" {
  service = "redis-server"
  syscall = "getpeername"
  expect  = allow
}

test "sockets_accept4: accept4 as recorded" {
  service = "redis-server"
  syscall = "accept4"
  args    = [6, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = allow
}

test "sockets_accept4: accept4 on fd.stdin is refused" {
  service = "redis-server"
  syscall = "accept4"
  args    = [fd.stdin, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = kill_process
}

test "sockets_accept4: accept4 with flags 0 is refused" {
  service = "redis-server"
  syscall = "accept4"
  args    = [6, 0, 0, 0]
  expect  = kill_process
}

test "wait: epoll_wait as recorded" {
  service = "redis-server"
  syscall = "epoll_wait"
  expect  = allow
}

test "wait_epoll_ctl: epoll_ctl as recorded" {
  service = "redis-server"
  syscall = "epoll_ctl"
  args    = [0, EPOLL_CTL_ADD]
  expect  = allow
}

test "threads: futex as recorded" {
  service = "redis-server"
  syscall = "futex"
  expect  = allow
}

test "signals: rt_sigreturn as recorded" {
  service = "redis-server"
  syscall = "rt_sigreturn"
  expect  = allow
}

test "process: exit_group as recorded" {
  service = "redis-server"
  syscall = "exit_group"
  expect  = allow
}

test "startup: access as recorded" {
  service = "redis-server"
  syscall = "access"
  expect  = allow
}

test "startup_own_fds: bind as recorded" {
  service = "redis-server"
  syscall = "bind"
  args    = [6]
  expect  = allow
}

test "startup_own_fds: bind on fd.stdin is refused" {
  service = "redis-server"
  syscall = "bind"
  args    = [fd.stdin]
  expect  = kill_process
}

test "startup_clone3: clone3 gets errno(ENOSYS)" {
  service = "redis-server"
  syscall = "clone3"
  expect  = errno(ENOSYS)
}

test "startup_fcntl: fcntl as recorded" {
  service = "redis-server"
  syscall = "fcntl"
  args    = [5, F_GETFD]
  expect  = allow
}

test "startup_fcntl: fcntl on fd.stdin is refused" {
  service = "redis-server"
  syscall = "fcntl"
  args    = [fd.stdin, F_GETFD]
  expect  = kill_process
}

test "startup_fcntl: fcntl with command F_DUPFD is refused" {
  service = "redis-server"
  syscall = "fcntl"
  args    = [5, F_DUPFD]
  expect  = kill_process
}

test "startup_getrandom: getrandom as recorded" {
  service = "redis-server"
  syscall = "getrandom"
  args    = [0, 0, 0]
  expect  = allow
}

test "startup_ioctl: ioctl as recorded" {
  service = "redis-server"
  syscall = "ioctl"
  args    = [3, TCGETS]
  expect  = allow
}

test "startup_ioctl: ioctl on fd.stdin is refused" {
  service = "redis-server"
  syscall = "ioctl"
  args    = [fd.stdin, TCGETS]
  expect  = kill_process
}

test "startup_ioctl: ioctl with request TIOCSTI is refused" {
  service = "redis-server"
  syscall = "ioctl"
  args    = [3, TIOCSTI]
  expect  = kill_process
}

test "startup_mmap: mmap as recorded" {
  service = "redis-server"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE), 0, -1]
  expect  = allow
}

test "startup_mmap: mmap with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "redis-server"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC), 0, -1]
  expect  = kill_process
}

test "startup_mmap: mmap on fd.stdin is refused" {
  service = "redis-server"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE), 0, fd.stdin]
  expect  = kill_process
}

test "startup_mprotect: mprotect as recorded" {
  service = "redis-server"
  syscall = "mprotect"
  args    = [0, 0, PROT_READ]
  expect  = allow
}

test "startup_mprotect: mprotect with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "redis-server"
  syscall = "mprotect"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC)]
  expect  = kill_process
}

test "startup_open: open as recorded" {
  service = "redis-server"
  syscall = "open"
  args    = [0, bitor(O_RDONLY, O_CLOEXEC)]
  expect  = allow
}

test "startup_open: open with flags O_RDWR is refused" {
  service = "redis-server"
  syscall = "open"
  args    = [0, O_RDWR]
  expect  = kill_process
}

test "startup_pipe2: pipe2 as recorded" {
  service = "redis-server"
  syscall = "pipe2"
  args    = [0, bitor(O_CLOEXEC, O_NONBLOCK)]
  expect  = allow
}

test "startup_prctl: prctl as recorded" {
  service = "redis-server"
  syscall = "prctl"
  args    = [PR_CAPBSET_READ]
  expect  = allow
}

test "startup_prctl: prctl with option PR_SET_PTRACER is refused" {
  service = "redis-server"
  syscall = "prctl"
  args    = [PR_SET_PTRACER]
  expect  = kill_process
}

test "startup_prlimit64: prlimit64 as recorded" {
  service = "redis-server"
  syscall = "prlimit64"
  args    = [0, RLIMIT_STACK]
  expect  = allow
}

test "startup_prlimit64: prlimit64 with process 1 is refused" {
  service = "redis-server"
  syscall = "prlimit64"
  args    = [1, RLIMIT_STACK]
  expect  = kill_process
}

test "startup_socket: socket as recorded" {
  service = "redis-server"
  syscall = "socket"
  args    = [AF_INET, SOCK_STREAM]
  expect  = allow
}

test "startup_socket: socket with family AF_PACKET is refused" {
  service = "redis-server"
  syscall = "socket"
  args    = [AF_PACKET, SOCK_STREAM]
  expect  = kill_process
}

test "startup_socket: socket with type SOCK_RAW is refused" {
  service = "redis-server"
  syscall = "socket"
  args    = [AF_INET, SOCK_RAW]
  expect  = kill_process
}

test "no new programs: the loader's exec is the only one" {
  service = "redis-server"
  syscall = "execve"
  expect  = exec_once
}

test "ptrace is refused" {
  service = "redis-server"
  syscall = "ptrace"
  expect  = kill_process
}

test "mount is refused" {
  service = "redis-server"
  syscall = "mount"
  expect  = kill_process
}
