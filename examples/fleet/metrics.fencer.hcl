# The metrics service of examples/metrics, with its policy, on every host
# of the fleet: this file is examples/metrics/metrics.fencer.hcl from its
# service block on (a test keeps the two the same), and hosts.fencer.hcl
# says which hosts there are.

service "metrics" {
  unit           = "metrics.service"
  unit_file      = replace(file("metrics.service"), "/usr/local/libexec/metrics-server", var.server_path)
  default_action = kill_process

  fd "logfile" {
    stdout = "append:${var.log_path}"
  }

  fd "metrics_socket" {
    listen_stream = "0.0.0.0:${var.port}"
  }

  # Log lines go to stderr and to the log file, nowhere else.
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.logfile
  }

  # Warnings fsync the log file.
  rule "log_sync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile
  }

  # Connections are accepted on the listening socket only, without the
  # peer's address, as non-blocking close-on-exec sockets.
  rule "accept" {
    syscalls = ["accept4"]
    when     = arg0 == fd.metrics_socket && arg1 == 0 && arg2 == 0 && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }

  # Client sockets are read, written and closed; stderr, the log file and
  # the listening socket never are.
  rule "client_io" {
    syscalls = ["read", "sendto", "close"]
    when     = !contains([2, fd.logfile, fd.metrics_socket], arg0)
  }

  # Waiting for connections: poll where the architecture has it, ppoll on
  # those that only have ppoll.
  rule "wait" {
    syscalls = ["poll"]
    arch     = ["x86_64", "i386", "arm", "ppc64le", "s390x"]
  }

  rule "wait_ppoll" {
    syscalls = ["ppoll"]
    arch     = ["aarch64", "riscv64"]
  }

  # What the server needs between execve and its first request: glibc's
  # static start-up (measured with strace on x86_64; the other
  # architectures' names follow their syscall tables), and restart_syscall,
  # which the kernel uses to resume poll after a SIGSTOP/SIGCONT.
  #
  # execve is not among them, nor in any rule: fencer's loader execs the
  # server under the filter, and with no rule naming execve that exec is
  # the only one that passes (exec once). Every later execve, such as
  # GET /exec's, fails with ENOSYS.
  rule "startup" {
    syscalls = [syscall_set.startup]
  }

  rule "startup_x86_64" {
    syscalls = ["arch_prctl", "readlink"]
    arch     = ["x86_64"]
  }

  rule "startup_generic" {
    syscalls = ["readlinkat"]
    arch     = ["aarch64", "riscv64"]
  }

  rule "startup_readlink" {
    syscalls = ["readlink"]
    arch     = ["ppc64le", "s390x"]
  }

  rule "startup_i386" {
    syscalls = ["set_thread_area", "readlink"]
    arch     = ["i386"]
  }

  rule "startup_arm" {
    syscalls = ["set_tls", "readlink"]
    arch     = ["arm"]
  }
}

syscall_set "startup" {
  syscalls = [
    "brk", "set_tid_address", "set_robust_list", "rseq",
    "prlimit64", "getrandom", "mprotect", "getpid", "restart_syscall",
    "exit_group",
  ]
}
