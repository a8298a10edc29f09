# A policy drafted by fencer from a recording of the unit demo.service (/usr/sbin/demo --foreground)
# on s390x:
# 52 calls in 1 process, 1 thread, over 52ms; the recording was interrupted.
# Start-up: the 31 calls before the first epoll_wait (at 31ms); the rest is the steady state.
# Every rule allows what the recording saw; review the rules and the tests below before you apply it:
# a path the program did not take while it was recorded is not in it.

service "demo" {
  unit           = "demo.service"
  arch           = ["s390x"]
  default_action = kill_process

  # No recorded call used it.
  fd "stdin" {
    stdin = "null"
  }

  # No recorded call used it.
  fd "stdout" {
    stdout = "journal"
  }

  # Used by write 4.
  fd "stderr" {
    stderr = "journal"
  }

  # Used by accept4 3, epoll_ctl 1.
  fd "demo_socket" {
    listen_stream = "127.0.0.1:8080"
  }

  # Reading and writing fds, and the fds themselves.
  # close: 6 calls, 3 at start-up, 3 after.
  # read: 6 calls, 3 at start-up, 3 after.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "io_own_fds" {
    syscalls = ["close", "read"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr, fd.demo_socket], arg0)
  }

  # write: 4 calls, 1 at start-up, 3 after.
  # arg0: only the fds the program started with that it used here.
  rule "io_stderr" {
    syscalls = ["write"]
    when     = arg0 == fd.stderr
  }

  # Sockets: made, connected, accepted, written and read.
  # accept4: 3 calls, all after start-up.
  # arg0: only the fds the program started with that it used here.
  rule "sockets_accept4" {
    syscalls = ["accept4"]
    when     = arg0 == fd.demo_socket && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }

  # sendto: 3 calls, all after start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "sockets_own_fds" {
    syscalls = ["sendto"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr, fd.demo_socket], arg0)
  }

  # Waiting for work: readiness of fds, events and timers.
  # epoll_wait: 3 calls, all after start-up.
  rule "wait" {
    syscalls = ["epoll_wait"]
  }

  # epoll_ctl: 4 calls, 1 at start-up, 3 after.
  rule "wait_epoll_ctl" {
    syscalls = ["epoll_ctl"]
    when     = arg1 == EPOLL_CTL_ADD
  }

  # Start-up only: seen before the first wait for work and never after. The filter cannot tell
  # start-up from the steady state: these stay allowed for the process's whole life.
  # brk: 3 calls, all at start-up.
  # faccessat: 1 call, all at start-up, 1 failed.
  #   paths: /etc/ld.so.preload
  # mmap: 5 calls, all at start-up.
  # munmap: 1 call, all at start-up.
  # newfstatat: 1 call, all at start-up.
  # rseq: 1 call, all at start-up.
  # set_robust_list: 1 call, all at start-up.
  # set_tid_address: 1 call, all at start-up.
  rule "startup" {
    syscalls = ["brk", "faccessat", "mmap", "munmap", "newfstatat", "rseq", "set_robust_list", "set_tid_address"]
  }

  # epoll_create1: 1 call, all at start-up.
  rule "startup_epoll_create1" {
    syscalls = ["epoll_create1"]
    when     = arg0 == EPOLL_CLOEXEC
  }

  # getrandom: 1 call, all at start-up.
  rule "startup_getrandom" {
    syscalls = ["getrandom"]
    when     = arg2 == GRND_NONBLOCK
  }

  # mprotect: 1 call, all at start-up.
  # No mapping was writable and executable at once.
  rule "startup_mprotect" {
    syscalls = ["mprotect"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC))
  }

  # openat: 3 calls, all at start-up.
  #   paths: /etc/demo.conf, /etc/ld.so.cache, /lib/x86_64-linux-gnu/libc.so.6
  # Every file was opened read-only.
  rule "startup_openat" {
    syscalls = ["openat"]
    when     = masked(arg2, O_ACCMODE) == O_RDONLY
  }

  # pread64: 1 call, all at start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "startup_own_fds" {
    syscalls = ["pread64"]
    when     = !contains([fd.stdin, fd.stdout, fd.stderr, fd.demo_socket], arg0)
  }

  # prlimit64: 1 call, all at start-up.
  # Only on the process itself (0).
  rule "startup_prlimit64" {
    syscalls = ["prlimit64"]
    when     = arg0 == 0 && arg1 == RLIMIT_STACK
  }
}

test "io_own_fds: close as recorded" {
  service = "demo"
  syscall = "close"
  args    = [4]
  expect  = allow
}

test "io_own_fds: close on fd.stdin is refused" {
  service = "demo"
  syscall = "close"
  args    = [fd.stdin]
  expect  = kill_process
}

test "io_stderr: write as recorded" {
  service = "demo"
  syscall = "write"
  args    = [fd.stderr]
  expect  = allow
}

test "io_stderr: write on fd.stdin is refused" {
  service = "demo"
  syscall = "write"
  args    = [fd.stdin]
  expect  = kill_process
}

test "sockets_accept4: accept4 as recorded" {
  service = "demo"
  syscall = "accept4"
  args    = [fd.demo_socket, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = allow
}

test "sockets_accept4: accept4 on fd.stdin is refused" {
  service = "demo"
  syscall = "accept4"
  args    = [fd.stdin, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = kill_process
}

test "sockets_accept4: accept4 with flags 0 is refused" {
  service = "demo"
  syscall = "accept4"
  args    = [fd.demo_socket, 0, 0, 0]
  expect  = kill_process
}

test "sockets_own_fds: sendto as recorded" {
  service = "demo"
  syscall = "sendto"
  args    = [5]
  expect  = allow
}

test "sockets_own_fds: sendto on fd.stdin is refused" {
  service = "demo"
  syscall = "sendto"
  args    = [fd.stdin]
  expect  = kill_process
}

test "wait: epoll_wait as recorded" {
  service = "demo"
  syscall = "epoll_wait"
  expect  = allow
}

test "wait_epoll_ctl: epoll_ctl as recorded" {
  service = "demo"
  syscall = "epoll_ctl"
  args    = [0, EPOLL_CTL_ADD]
  expect  = allow
}

test "startup: brk as recorded" {
  service = "demo"
  syscall = "brk"
  expect  = allow
}

test "startup_epoll_create1: epoll_create1 as recorded" {
  service = "demo"
  syscall = "epoll_create1"
  args    = [EPOLL_CLOEXEC]
  expect  = allow
}

test "startup_getrandom: getrandom as recorded" {
  service = "demo"
  syscall = "getrandom"
  args    = [0, 0, GRND_NONBLOCK]
  expect  = allow
}

test "startup_mprotect: mprotect as recorded" {
  service = "demo"
  syscall = "mprotect"
  args    = [0, 0, PROT_READ]
  expect  = allow
}

test "startup_mprotect: mprotect with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "demo"
  syscall = "mprotect"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC)]
  expect  = kill_process
}

test "startup_openat: openat as recorded" {
  service = "demo"
  syscall = "openat"
  args    = [0, 0, bitor(O_RDONLY, O_CLOEXEC)]
  expect  = allow
}

test "startup_openat: openat with flags O_RDWR is refused" {
  service = "demo"
  syscall = "openat"
  args    = [0, 0, O_RDWR]
  expect  = kill_process
}

test "startup_own_fds: pread64 as recorded" {
  service = "demo"
  syscall = "pread64"
  args    = [4]
  expect  = allow
}

test "startup_own_fds: pread64 on fd.stdin is refused" {
  service = "demo"
  syscall = "pread64"
  args    = [fd.stdin]
  expect  = kill_process
}

test "startup_prlimit64: prlimit64 as recorded" {
  service = "demo"
  syscall = "prlimit64"
  args    = [0, RLIMIT_STACK]
  expect  = allow
}

test "startup_prlimit64: prlimit64 with process 1 is refused" {
  service = "demo"
  syscall = "prlimit64"
  args    = [1, RLIMIT_STACK]
  expect  = kill_process
}

test "no new programs: the loader's exec is the only one" {
  service = "demo"
  syscall = "execve"
  expect  = exec_once
}

test "ptrace is refused" {
  service = "demo"
  syscall = "ptrace"
  expect  = kill_process
}

test "mount is refused" {
  service = "demo"
  syscall = "mount"
  expect  = kill_process
}
