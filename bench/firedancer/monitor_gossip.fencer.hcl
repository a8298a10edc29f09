# Firedancer's src/app/firedancer/commands/monitor_gossip/monitor_gossip.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "monitor_gossip" {
  unit           = "monitor_gossip.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # The gossip monitor is a binary that can run alongside Firedancer
  # and print gossip-specific diagnostics about the status and
  # performance of gossip tiles in the running validator.
  #
  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  fd "logfile_fd" {
    number = 4
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # Unlike the rest of Firedancer, the gossip monitor actually uses
  # STDOUT, for printing its diagnostics.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 1 is always STDOUT, and 2 is always STDERR.
  rule "write" {
    syscalls = ["write"]
    when     = contains([1, 2, fd.logfile_fd], arg0)
  }

  # monitor-gossip: stdio buffering setup for STDOUT
  #
  # The gossip monitor prints diagnostics with printf(3), and glibc
  # stdio calls fstat on the descriptor on first use to pick a
  # buffering strategy.
  rule "fstat" {
    syscalls = ["fstat"]
    when     = arg0 == 1
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # monitor-gossip: wait until we need to print again
  #
  # The gossip monitor calls fd_log_wait_until() to wait until the
  # diagnostic output screen should be refreshed, and that function
  # can call nanosleep depending on the amount of time left to wait.
  rule "nanosleep" {
    syscalls = ["nanosleep"]
  }

  # monitor-gossip: wait until we need to print again
  #
  # The gossip monitor calls fd_log_wait_until() to wait until the
  # diagnostic output screen should be refreshed, and that function
  # can call sched_yield depending on the amount of time left to wait.
  rule "sched_yield" {
    syscalls = ["sched_yield"]
  }

  # monitor-gossip: exit the process
  #
  # If the gossip monitor is signalled with SIGINT or SIGTERM it will
  # exit itself by calling exit_group()
  rule "exit_group" {
    syscalls = ["exit_group"]
  }
}
