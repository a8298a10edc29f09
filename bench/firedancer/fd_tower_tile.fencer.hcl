# Firedancer's src/discof/tower/fd_tower_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_tower_tile" {
  unit           = "fd_tower_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # checkpt_fd: The binary file to checkpoint towers to while running.
  #
  # accounts_fd: The file descriptor for the accounts database.  Execution
  #              tiles may need to pull accounts into the cache from disk,
  #              or purge out of cache to the disk to make forward
  #              progress.
  fd "logfile_fd" {
    number = 4
  }
  fd "checkpt_fd" {
    number = 6
  }
  fd "restore_fd" {
    number = 8
  }
  fd "accounts_fd" {
    number = 10
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR.
  #
  # fd_tower_checkpt requires write
  rule "write" {
    syscalls = ["write"]
    when     = contains([2, fd.logfile_fd, fd.checkpt_fd], arg0)
  }

  # fd_tower_restore requires read
  rule "read" {
    syscalls = ["read"]
    when     = arg0 == fd.restore_fd
  }

  # fd_tower_restore requires fstat (fd_io_sz). TODO read all bytes without fd_io_sz?
  rule "fstat" {
    syscalls = ["fstat"]
    when     = arg0 == fd.restore_fd
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  # tower:   always fsync the tower file to disk immediately.
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = contains([fd.logfile_fd, fd.checkpt_fd], arg0)
  }

  # accounts database: write to the accounts database
  #
  # Users of the accounts database may need to write data to persistent
  # storage if the cache is full (to complete an eviction).
  #
  # arg 0 is the file descriptor to write to.
  rule "pwritev2" {
    syscalls = ["pwritev2"]
    when     = arg0 == fd.accounts_fd
  }

  # accounts database: read from the accounts database
  #
  # Users of the accounts database may need to read data into the cache.
  #
  # arg 0 is the file descriptor to read from
  rule "preadv2" {
    syscalls = ["preadv2"]
    when     = arg0 == fd.accounts_fd
  }

  # accounts database: allocate more space from the disk
  #
  # The accounts database allocates more space from the underlying storage
  # device in chunks, as it runs out.
  rule "fallocate" {
    syscalls = ["fallocate"]
    when     = arg0 == fd.accounts_fd && arg1 == 0
  }
}
