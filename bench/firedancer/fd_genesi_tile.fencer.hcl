# Firedancer's src/discof/genesis/fd_genesi_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_genesi_tile" {
  unit           = "fd_genesi_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # accounts_fd: The file descriptor for the accounts database.  Execution
  #              tiles may need to pull accounts into the cache from disk,
  #              or purge out of cache to the disk to make forward
  #              progress.
  fd "logfile_fd" {
    number = 4
  }
  fd "in_genesis_fd" {
    number = 6
  }
  fd "out_genesis_fd" {
    number = 8
  }
  fd "out_dir_fd" {
    number = 10
  }
  fd "accounts_fd" {
    number = 12
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
    when     = contains([2, fd.out_genesis_fd, fd.logfile_fd], arg0)
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # genesis: obtain information about the genesis file
  #
  # arg 0 is the file descriptor for the genesis file
  rule "fstat" {
    syscalls = ["fstat"]
    when     = arg0 == fd.in_genesis_fd
  }

  # genesis: close the file after we are done reading from it
  #
  # arg 0 is the file descriptor for the genesis file
  rule "close" {
    syscalls = ["close"]
    when     = !contains([fd.logfile_fd, fd.out_dir_fd, fd.out_genesis_fd, 2], arg0)
  }

  # read: read data in from the genesis file
  #
  # arg 0 is the file descriptor for the genesis file
  rule "read" {
    syscalls = ["read"]
    when     = arg0 == fd.in_genesis_fd
  }

  # shutdown: exit is called on shutdown
  rule "exit" {
    syscalls = ["exit"]
    when     = arg0 == 0
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

  # client: requires polling existing connections
  rule "ppoll" {
    syscalls = ["ppoll"]
  }

  # client: need to send messages
  #
  # arg 0 is the file descriptor that we want to send messages to.  We
  # will allow sending to any of the descriptors opened in the client.
  # Only restrict from sending to the logfile and STDERR
  rule "sendto" {
    syscalls = ["sendto"]
    when     = (
      !contains([fd.logfile_fd, fd.in_genesis_fd, fd.out_dir_fd, fd.out_genesis_fd, 2], arg0) &&
      arg3 == MSG_NOSIGNAL &&
      arg4 == 0 &&
      arg5 == 0
    )
  }

  # client: need to read from connections established by the client
  #
  # arg 0 is the file descriptor that we receive messages from.  We will
  # allow receiving to any of the descriptors opened in the client.  Only
  # restrict from receiving to the logfile and STDERR
  rule "recvfrom" {
    syscalls = ["recvfrom"]
    when     = (
      !contains([fd.logfile_fd, fd.in_genesis_fd, fd.out_dir_fd, fd.out_genesis_fd, 2], arg0) &&
      arg3 == 0 &&
      arg4 == 0 &&
      arg5 == 0
    )
  }

  # genesis: after a genesis file has been downloaded, it is renamed from
  # a path like 'genesis.bin.partial' to its proper name, 'genesis.bin'.
  #
  # arg 0 is the file descriptor for the directory that the file is being
  # renamed from
  #
  # arg 2 is the file descriptor for the directory that the file is being
  # renamed to.  This should be the same file descriptor as the one used
  # in arg 0
  rule "renameat2" {
    syscalls = ["renameat2"]
    when     = arg0 == fd.out_dir_fd && arg2 == fd.out_dir_fd
  }
}
