# Firedancer's src/discof/restore/fd_snapwr_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapwr_tile" {
  unit           = "fd_snapwr_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # accounts_fd: The file descriptor for the accounts database.  The
  #              snapwr tile writes all accounts loaded from a snapshot
  #              out sequentially to the database on disk.
  fd "logfile_fd" {
    number = 4
  }
  fd "accounts_fd" {
    number = 6
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
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

  # accounts: pwrite64 to write account data at explicit offsets,
  # bypassing sequential write and allowing sparse holes for padding.
  #
  # arg 0 is the file descriptor to write to.
  rule "pwrite64" {
    syscalls = ["pwrite64"]
    when     = arg0 == fd.accounts_fd
  }

  # shutdown: exit is called on shutdown
  rule "exit" {
    syscalls = ["exit"]
    when     = arg0 == 0
  }
}
