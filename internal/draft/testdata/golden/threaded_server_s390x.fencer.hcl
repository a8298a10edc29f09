# A policy drafted by fencer from a recording of the command /usr/bin/tserver -p 9000 on s390x:
# 76 calls in 2 processes, 4 threads, over 76ms; the recording's time ran out.
# Start-up: the 47 calls before the first accept4 (at 47ms); the rest is the steady state.
# Every rule allows what the recording saw; review the rules and the tests below before you apply it:
# a path the program did not take while it was recorded is not in it.

service "tserver" {
  unit           = "tserver.service"
  arch           = ["s390x"]
  default_action = kill_process

  # No recorded call used it.
  fd "stdin" {
    number = 0
  }

  # Used by write 1.
  fd "stdout" {
    number = 1
  }

  # No recorded call used it.
  fd "stderr" {
    number = 2
  }

  # Reading and writing fds, and the fds themselves.
  # close: 6 calls, 2 at start-up, 4 after.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "io_own_fds" {
    syscalls = ["close"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0)
  }

  # write: 5 calls, all after start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "io_write" {
    syscalls = ["write"]
    when     = !contains([fd.stdin, fd.stderr], arg0)
  }

  # Sockets: made, connected, accepted, written and read.
  # accept4: 4 calls, all after start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "sockets_accept4" {
    syscalls = ["accept4"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0) && arg3 == SOCK_CLOEXEC
  }

  # recvfrom: 4 calls, all after start-up.
  # sendto: 4 calls, all after start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "sockets_own_fds" {
    syscalls = ["recvfrom", "sendto"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0)
  }

  # Threads: their creation, their locks and their end.
  # set_robust_list: 4 calls, 3 at start-up, 1 after.
  rule "threads" {
    syscalls = ["set_robust_list"]
  }

  # clone: 1 call, all after start-up.
  rule "threads_clone" {
    syscalls = ["clone"]
    when     = contains([bitor(CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID), bitor(SIGCHLD, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID)], arg1)
  }

  # clone3: 2 calls, all at start-up.
  # clone3 takes its flags in memory, where no filter sees them: it fails with ENOSYS, and glibc
  # falls back to clone, whose flags the rule on clone checks (it allows the flags clone3 was given).
  rule "threads_clone3" {
    syscalls = ["clone3"]
    action   = errno(ENOSYS)
  }

  # Time: clocks, sleeps and timers.
  # clock_gettime: 4 calls, all after start-up.
  rule "time" {
    syscalls = ["clock_gettime"]
  }

  # The process: its ids, limits and children.
  # exit_group: 1 call, all after start-up.
  # wait4: 1 call, all after start-up.
  rule "process" {
    syscalls = ["exit_group", "wait4"]
  }

  # Start-up only: seen before the first wait for work and never after. The filter cannot tell
  # start-up from the steady state: these stay allowed for the process's whole life.
  # brk: 3 calls, all at start-up.
  # faccessat: 1 call, all at start-up, 1 failed.
  #   paths: /etc/ld.so.preload
  # futex: 1 call, all at start-up.
  # mmap: 7 calls, all at start-up.
  # munmap: 1 call, all at start-up.
  # newfstatat: 1 call, all at start-up.
  # openat: 3 calls, all at start-up.
  #   paths: /etc/ld.so.cache, /lib/x86_64-linux-gnu/libc.so.6, /var/log/tserver.log
  # rseq: 3 calls, all at start-up.
  # rt_sigaction: 1 call, all at start-up.
  # rt_sigprocmask: 6 calls, all at start-up.
  # set_tid_address: 1 call, all at start-up.
  # setsockopt: 1 call, all at start-up.
  rule "startup" {
    syscalls = ["brk", "faccessat", "futex", "mmap", "munmap", "newfstatat", "openat", "rseq", "rt_sigaction", "rt_sigprocmask", "set_tid_address", "setsockopt"]
  }

  # bind: 1 call, all at start-up.
  # listen: 1 call, all at start-up.
  # pread64: 1 call, all at start-up.
  # read: 1 call, all at start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "startup_own_fds" {
    syscalls = ["bind", "listen", "pread64", "read"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr], arg0)
  }

  # getrandom: 1 call, all at start-up.
  rule "startup_getrandom" {
    syscalls = ["getrandom"]
    when     = arg2 == GRND_NONBLOCK
  }

  # mprotect: 3 calls, all at start-up.
  # No mapping was writable and executable at once.
  rule "startup_mprotect" {
    syscalls = ["mprotect"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC))
  }

  # prlimit64: 1 call, all at start-up.
  # Only on the process itself (0).
  rule "startup_prlimit64" {
    syscalls = ["prlimit64"]
    when     = arg0 == 0 && arg1 == RLIMIT_STACK
  }

  # socket: 1 call, all at start-up.
  rule "startup_socket" {
    syscalls = ["socket"]
    when     = arg0 == AF_INET && arg1 == bitor(SOCK_STREAM, SOCK_CLOEXEC)
  }
}

test "io_own_fds: close as recorded" {
  service = "tserver"
  syscall = "close"
  args    = [3]
  expect  = allow
}

test "io_own_fds: close on fd.stdin is refused" {
  service = "tserver"
  syscall = "close"
  args    = [fd.stdin]
  expect  = kill_process
}

test "io_write: write as recorded" {
  service = "tserver"
  syscall = "write"
  args    = [3]
  expect  = allow
}

test "io_write: write on fd.stdin is refused" {
  service = "tserver"
  syscall = "write"
  args    = [fd.stdin]
  expect  = kill_process
}

test "sockets_accept4: accept4 as recorded" {
  service = "tserver"
  syscall = "accept4"
  args    = [4, 0, 0, SOCK_CLOEXEC]
  expect  = allow
}

test "sockets_accept4: accept4 on fd.stdin is refused" {
  service = "tserver"
  syscall = "accept4"
  args    = [fd.stdin, 0, 0, SOCK_CLOEXEC]
  expect  = kill_process
}

test "sockets_accept4: accept4 with flags 0 is refused" {
  service = "tserver"
  syscall = "accept4"
  args    = [4, 0, 0, 0]
  expect  = kill_process
}

test "sockets_own_fds: recvfrom as recorded" {
  service = "tserver"
  syscall = "recvfrom"
  args    = [5]
  expect  = allow
}

test "sockets_own_fds: recvfrom on fd.stdin is refused" {
  service = "tserver"
  syscall = "recvfrom"
  args    = [fd.stdin]
  expect  = kill_process
}

test "threads: set_robust_list as recorded" {
  service = "tserver"
  syscall = "set_robust_list"
  expect  = allow
}

test "threads_clone: clone as recorded" {
  service = "tserver"
  syscall = "clone"
  args    = [0, bitor(SIGCHLD, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID)]
  expect  = allow
}

test "threads_clone: clone with flags SIGCHLD is refused" {
  service = "tserver"
  syscall = "clone"
  args    = [0, SIGCHLD]
  expect  = kill_process
}

test "threads_clone3: clone3 gets errno(ENOSYS)" {
  service = "tserver"
  syscall = "clone3"
  expect  = errno(ENOSYS)
}

test "time: clock_gettime as recorded" {
  service = "tserver"
  syscall = "clock_gettime"
  expect  = allow
}

test "process: exit_group as recorded" {
  service = "tserver"
  syscall = "exit_group"
  expect  = allow
}

test "startup: brk as recorded" {
  service = "tserver"
  syscall = "brk"
  expect  = allow
}

test "startup_own_fds: bind as recorded" {
  service = "tserver"
  syscall = "bind"
  args    = [4]
  expect  = allow
}

test "startup_own_fds: bind on fd.stdin is refused" {
  service = "tserver"
  syscall = "bind"
  args    = [fd.stdin]
  expect  = kill_process
}

test "startup_getrandom: getrandom as recorded" {
  service = "tserver"
  syscall = "getrandom"
  args    = [0, 0, GRND_NONBLOCK]
  expect  = allow
}

test "startup_mprotect: mprotect as recorded" {
  service = "tserver"
  syscall = "mprotect"
  args    = [0, 0, PROT_READ]
  expect  = allow
}

test "startup_mprotect: mprotect with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "tserver"
  syscall = "mprotect"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC)]
  expect  = kill_process
}

test "startup_prlimit64: prlimit64 as recorded" {
  service = "tserver"
  syscall = "prlimit64"
  args    = [0, RLIMIT_STACK]
  expect  = allow
}

test "startup_prlimit64: prlimit64 with process 1 is refused" {
  service = "tserver"
  syscall = "prlimit64"
  args    = [1, RLIMIT_STACK]
  expect  = kill_process
}

test "startup_socket: socket as recorded" {
  service = "tserver"
  syscall = "socket"
  args    = [AF_INET, bitor(SOCK_STREAM, SOCK_CLOEXEC)]
  expect  = allow
}

test "startup_socket: socket with family AF_PACKET is refused" {
  service = "tserver"
  syscall = "socket"
  args    = [AF_PACKET, bitor(SOCK_STREAM, SOCK_CLOEXEC)]
  expect  = kill_process
}

test "startup_socket: socket with type SOCK_RAW is refused" {
  service = "tserver"
  syscall = "socket"
  args    = [AF_INET, SOCK_RAW]
  expect  = kill_process
}

test "no new programs: the loader's exec is the only one" {
  service = "tserver"
  syscall = "execve"
  expect  = exec_once
}

test "ptrace is refused" {
  service = "tserver"
  syscall = "ptrace"
  expect  = kill_process
}

test "mount is refused" {
  service = "tserver"
  syscall = "mount"
  expect  = kill_process
}
