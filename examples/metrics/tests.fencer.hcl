# Both sides of every rule, on x86_64 and aarch64.

test "stderr is writable" {
  service = "metrics"
  syscall = "write"
  args    = [2]
  expect  = allow
}

test "the log file is writable" {
  service = "metrics"
  syscall = "write"
  args    = [fd.logfile]
  expect  = allow
}

test "a client socket cannot be written with write" {
  service = "metrics"
  syscall = "write"
  args    = [7]
  expect  = kill_process
}

test "stdin cannot be written" {
  service = "metrics"
  syscall = "write"
  args    = [0]
  expect  = kill_process
}

test "the log file is fsynced" {
  service = "metrics"
  syscall = "fsync"
  args    = [fd.logfile]
  expect  = allow
}

test "stderr is not fsynced" {
  service = "metrics"
  syscall = "fsync"
  args    = [2]
  expect  = kill_process
}

test "connections are accepted on the metrics socket" {
  service = "metrics"
  syscall = "accept4"
  args    = [fd.metrics_socket, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = allow
}

test "accept4 on another fd is refused" {
  service = "metrics"
  syscall = "accept4"
  args    = [fd.logfile, 0, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = kill_process
}

test "accepted sockets must be non-blocking" {
  service = "metrics"
  syscall = "accept4"
  args    = [fd.metrics_socket, 0, 0, SOCK_CLOEXEC]
  expect  = kill_process
}

test "accept4 may not ask for the peer address" {
  service = "metrics"
  syscall = "accept4"
  args    = [fd.metrics_socket, 4096, 0, bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)]
  expect  = kill_process
}

test "a client is read" {
  service = "metrics"
  syscall = "read"
  args    = [7]
  expect  = allow
}

test "the listening socket is not read" {
  service = "metrics"
  syscall = "read"
  args    = [fd.metrics_socket]
  expect  = kill_process
}

test "a client is answered" {
  service = "metrics"
  syscall = "sendto"
  args    = [9, 0, 100, 0, 0, 0]
  expect  = allow
}

test "the log file is not sent to" {
  service = "metrics"
  syscall = "sendto"
  args    = [fd.logfile]
  expect  = kill_process
}

test "a client is closed" {
  service = "metrics"
  syscall = "close"
  args    = [8]
  expect  = allow
}

test "stderr is never closed" {
  service = "metrics"
  syscall = "close"
  args    = [2]
  expect  = kill_process
}

test "the high word of an fd is ignored" {
  service = "metrics"
  syscall = "close"
  args    = [4294967298] # 0x1_0000_0002: the kernel reads fd 2
  expect  = kill_process
}

test "poll waits on x86_64" {
  service = "metrics"
  syscall = "poll"
  arch    = ["x86_64"]
  expect  = allow
}

test "ppoll waits on aarch64" {
  service = "metrics"
  syscall = "ppoll"
  arch    = ["aarch64"]
  expect  = allow
}

test "ppoll is refused on x86_64" {
  service = "metrics"
  syscall = "ppoll"
  arch    = ["x86_64"]
  expect  = kill_process
}

test "anything else is killed" {
  service = "metrics"
  syscall = "openat"
  arch    = ["x86_64", "aarch64"]
  expect  = kill_process
}

test "start-up may check LISTEN_PID" {
  service = "metrics"
  syscall = "getpid"
  expect  = allow
}

test "start-up may grow the heap" {
  service = "metrics"
  syscall = "brk"
  expect  = allow
}

test "glibc sets the thread pointer on x86_64" {
  service = "metrics"
  syscall = "arch_prctl"
  arch    = ["x86_64"]
  expect  = allow
}

test "glibc reads /proc/self/exe with readlink on x86_64" {
  service = "metrics"
  syscall = "readlink"
  arch    = ["x86_64"]
  expect  = allow
}

test "and with readlinkat on aarch64" {
  service = "metrics"
  syscall = "readlinkat"
  arch    = ["aarch64"]
  expect  = allow
}

test "readlinkat is refused on x86_64" {
  service = "metrics"
  syscall = "readlinkat"
  arch    = ["x86_64"]
  expect  = kill_process
}

test "no new programs: the loader's exec is the only one" {
  service = "metrics"
  syscall = "execve"
  expect  = exec_once
}

test "no new programs: execveat is refused" {
  service = "metrics"
  syscall = "execveat"
  arch    = ["x86_64", "aarch64"]
  expect  = kill_process
}
