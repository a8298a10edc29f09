# Firedancer's src/app/shared/commands/watch/watch.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "watch" {
  unit           = "watch.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # The watcher is a binary that can run alongside Firedancer and print
  # certain diagnostics about the status and performance of the validator.
  #
  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # drain_output_fd: If the monitor is supervising Firedancer, so it can
  #                  cleanly interleave log messages with monitoring
  #                  output, it will read from a pipe that it gave to
  #                  Firedancer to write log messages to.
  fd "logfile_fd" {
    number = 4
  }
  fd "drain_output_fd" {
    number = 6
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # Unlike the rest of Firedancer, the monitor actually uses STDOUT, for
  # printing its diagnostics.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 1 is always STDOUT, and 2 is always STDERR.
  rule "write" {
    syscalls = ["write"]
    when     = contains([1, 2, fd.logfile_fd], arg0)
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # watch: wait until we need to print again
  #
  # The watcher calls fd_log_wait_until() to wait until the diagnostic
  # output screen should be refreshed, and that function can call
  # nanosleep depending on the amount of time left to wait.
  rule "nanosleep" {
    syscalls = ["nanosleep"]
  }

  # watch: wait until we need to print again
  #
  # The watcher calls fd_log_wait_until() to wait until the diagnostic
  # output screen should be refreshed, and that function can call
  # sched_yield depending on the amount of time left to wait.
  rule "sched_yield" {
    syscalls = ["sched_yield"]
  }

  # watch: exit the process
  #
  # If the watcher is signalled with SIGINT or SIGTERM it will exit
  # itself by calling exit_group()
  rule "exit_group" {
    syscalls = ["exit_group"]
  }

  # watch: splice log output from a firedancer child process
  #
  # The watcher supports a development mode where it can be run as the
  # supervisor process of Firedancer.  In this mode, it will pass a custom
  # pipe for Firedancer to write log message to, and interpose the logging
  # output with the pretty printed diagnostics.
  #
  # This is not needed in production environments.
  #
  # arg0 is the file descriptor we wish to read from.  The monitor will
  # ensure that this is always either the stderr pipe that it created
  # the Firedancer child process with or the stdin file descriptor
  # used by the monitor.
  rule "read" {
    syscalls = ["read"]
    when     = contains([fd.drain_output_fd, 0], arg0)
  }
}
