# Firedancer's src/disco/diag/fd_diag_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_diag_tile" {
  unit           = "fd_diag_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  fd "logfile_fd" {
    number = 4
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all
  # messages are always written to the log file.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR.
  rule "write" {
    syscalls = ["write"]
    when     = contains([2, fd.logfile_fd], arg0)
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # metrics: retrieve number of context switches by rereading /proc
  #
  # arg 0 is the file descriptor to seek.  It can be any of the
  # /proc/status file descriptors or /proc/interrupts, /proc/softirqs
  # or /proc/stat opened during privileged init.  To accommodate this,
  # we allow any file descriptor except those which we know are not
  # these /proc/status files, which are the log file and STDOUT.
  rule "lseek" {
    syscalls = ["lseek"]
    when     = !contains([2, fd.logfile_fd], arg0) && arg1 == 0 && arg2 == SEEK_SET
  }

  # metrics: retrieve number of context switches by rereading /proc
  #
  # arg 0 is the file descriptor to read.  It can be any of the
  # /proc/status file descriptors or /proc/interrupts, /proc/softirqs
  # or /proc/stat opened during privileged init.  To accommodate this,
  # we allow any file descriptor except those which we know are not
  # these /proc/status files, which are the log file and STDOUT.
  rule "read" {
    syscalls = ["read"]
    when     = !contains([2, fd.logfile_fd], arg0)
  }

  # metrics: reduce CPU usage by sleeping
  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
    when     = arg0 == CLOCK_REALTIME && arg1 == 0 && arg3 == 0
  }
}
