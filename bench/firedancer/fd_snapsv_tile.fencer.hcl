# Firedancer's src/discof/backup/fd_snapsv_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapsv_tile" {
  unit           = "fd_snapsv_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  fd "logfile_fd" {
    number = 4
  }
  fd "ring_fd" {
    number = 6
  }
  fd "pool_min_fd" {
    number = 8
  }
  fd "pool_max_fd" {
    number = 10
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

  # file server: asynchronous network and file I/O.
  rule "io_uring_enter" {
    syscalls = ["io_uring_enter"]
    when     = arg0 == fd.ring_fd
  }

  # file server: closing a connection.
  #
  # Connection sockets are direct descriptors, so they only exist in the
  # ring's file table and close(2) cannot reach them.  They are closed by
  # dropping them from that table.
  # 6 is FD_IORING_REGISTER_FILES_UPDATE
  rule "io_uring_register" {
    syscalls = ["io_uring_register"]
    when     = arg0 == fd.ring_fd && arg1 == 6
  }

  # snapshot: acquire/release cooperative read locks while serving files.
  rule "fcntl" {
    syscalls = ["fcntl"]
    when     = arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd && arg1 == F_SETLK
  }
}
