# A policy drafted by fencer from a recording of the command /bin/echo hello on x86_64:
# 31 calls in 1 process, 1 thread, over 31ms; the program exited with status 0.
# The program never waited for work: every call is start-up.
# Every rule allows what the recording saw; review the rules and the tests below before you apply it:
# a path the program did not take while it was recorded is not in it.

service "echo" {
  unit           = "echo.service"
  arch           = ["x86_64"]
  default_action = kill_process

  # No recorded call used it.
  fd "stdin" {
    stdin = "tty"
  }

  # Used by close 1, write 1.
  # The program closed or replaced it: its number later held other files.
  fd "stdout" {
    stdout = "inherit"
  }

  # Used by close 1.
  # The program closed or replaced it: its number later held other files.
  fd "stderr" {
    stderr = "inherit"
  }

  # Memory: the heap, mappings and their protection.
  # brk: 3 calls, all at start-up.
  # munmap: 1 call, all at start-up.
  rule "memory" {
    syscalls = ["brk", "munmap"]
  }

  # mmap: 5 calls, all at start-up.
  # No mapping was writable and executable at once.
  # arg4: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "memory_mmap" {
    syscalls = ["mmap"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC)) && arg4 != fd.stdin
  }

  # mprotect: 1 call, all at start-up.
  # No mapping was writable and executable at once.
  rule "memory_mprotect" {
    syscalls = ["mprotect"]
    when     = !has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC))
  }

  # Files, by path and through the fds the program opens itself.
  # faccessat: 1 call, all at start-up, 1 failed.
  #   paths: /etc/ld.so.preload
  # newfstatat: 2 calls, all at start-up.
  rule "files" {
    syscalls = ["faccessat", "newfstatat"]
  }

  # openat: 2 calls, all at start-up.
  #   paths: /etc/ld.so.cache, /lib/x86_64-linux-gnu/libc.so.6
  # Every file was opened read-only.
  rule "files_openat" {
    syscalls = ["openat"]
    when     = masked(arg2, O_ACCMODE) == O_RDONLY
  }

  # Reading and writing fds, and the fds themselves.
  # close: 4 calls, all at start-up.
  # pread64: 1 call, all at start-up.
  # read: 1 call, all at start-up.
  # write: 1 call, all at start-up.
  # arg0: fds the program opened itself (their numbers vary from run to run), never one it started
  # with and did not use here.
  rule "io_own_fds" {
    syscalls = ["close", "pread64", "read", "write"]
    when     = arg0 != fd.stdin
  }

  # Threads: their creation, their locks and their end.
  # arch_prctl: 2 calls, all at start-up, 1 failed.
  # rseq: 1 call, all at start-up.
  # set_robust_list: 1 call, all at start-up.
  # set_tid_address: 1 call, all at start-up.
  rule "threads" {
    syscalls = ["arch_prctl", "rseq", "set_robust_list", "set_tid_address"]
  }

  # The process: its ids, limits and children.
  # exit_group: 1 call, all at start-up.
  rule "process" {
    syscalls = ["exit_group"]
  }

  # getrandom: 1 call, all at start-up.
  rule "process_getrandom" {
    syscalls = ["getrandom"]
    when     = arg2 == GRND_NONBLOCK
  }

  # prlimit64: 1 call, all at start-up.
  # Only on the process itself (0).
  rule "process_prlimit64" {
    syscalls = ["prlimit64"]
    when     = arg0 == 0 && arg1 == RLIMIT_STACK
  }
}

test "memory: brk as recorded" {
  service = "echo"
  syscall = "brk"
  expect  = allow
}

test "memory_mmap: mmap as recorded" {
  service = "echo"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE), 0, -1]
  expect  = allow
}

test "memory_mmap: mmap with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "echo"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC), 0, -1]
  expect  = kill_process
}

test "memory_mmap: mmap on fd.stdin is refused" {
  service = "echo"
  syscall = "mmap"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE), 0, fd.stdin]
  expect  = kill_process
}

test "memory_mprotect: mprotect as recorded" {
  service = "echo"
  syscall = "mprotect"
  args    = [0, 0, PROT_READ]
  expect  = allow
}

test "memory_mprotect: mprotect with protection bitor(PROT_READ, PROT_WRITE, PROT_EXEC) is refused" {
  service = "echo"
  syscall = "mprotect"
  args    = [0, 0, bitor(PROT_READ, PROT_WRITE, PROT_EXEC)]
  expect  = kill_process
}

test "files: faccessat as recorded" {
  service = "echo"
  syscall = "faccessat"
  expect  = allow
}

test "files_openat: openat as recorded" {
  service = "echo"
  syscall = "openat"
  args    = [0, 0, bitor(O_RDONLY, O_CLOEXEC)]
  expect  = allow
}

test "files_openat: openat with flags O_RDWR is refused" {
  service = "echo"
  syscall = "openat"
  args    = [0, 0, O_RDWR]
  expect  = kill_process
}

test "io_own_fds: close as recorded" {
  service = "echo"
  syscall = "close"
  args    = [3]
  expect  = allow
}

test "io_own_fds: close on fd.stdin is refused" {
  service = "echo"
  syscall = "close"
  args    = [fd.stdin]
  expect  = kill_process
}

test "threads: arch_prctl as recorded" {
  service = "echo"
  syscall = "arch_prctl"
  expect  = allow
}

test "process: exit_group as recorded" {
  service = "echo"
  syscall = "exit_group"
  expect  = allow
}

test "process_getrandom: getrandom as recorded" {
  service = "echo"
  syscall = "getrandom"
  args    = [0, 0, GRND_NONBLOCK]
  expect  = allow
}

test "process_prlimit64: prlimit64 as recorded" {
  service = "echo"
  syscall = "prlimit64"
  args    = [0, RLIMIT_STACK]
  expect  = allow
}

test "process_prlimit64: prlimit64 with process 1 is refused" {
  service = "echo"
  syscall = "prlimit64"
  args    = [1, RLIMIT_STACK]
  expect  = kill_process
}

test "no new programs: the loader's exec is the only one" {
  service = "echo"
  syscall = "execve"
  expect  = exec_once
}

test "ptrace is refused" {
  service = "echo"
  syscall = "ptrace"
  expect  = kill_process
}

test "mount is refused" {
  service = "echo"
  syscall = "mount"
  expect  = kill_process
}
