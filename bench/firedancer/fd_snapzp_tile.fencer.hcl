# Firedancer's src/discof/backup/fd_snapzp_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapzp_tile" {
  unit           = "fd_snapzp_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # pool_min_fd/pool_max_fd: The snapshot pool O_DIRECT file descriptor
  #         range [pool_min_fd,pool_max_fd].  The boot process opens one
  #         O_DIRECT write descriptor per managed snapshot file at the
  #         well known FD_SNAP_DIO_FD numbers before the tile is
  #         spawned; the tile pwrites compressed account data through
  #         these and never opens files itself.
  fd "logfile_fd" {
    number = 4
  }
  fd "pool_min_fd" {
    number = 6
  }
  fd "pool_max_fd" {
    number = 8
  }
  fd "accdb_ro_fd" {
    number = 10
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

  # snapshot: compressed account data is pwritten at block aligned
  # offsets into the snapshot pool file of the slot being produced.
  #
  # arg 0 is the file descriptor to write to.
  rule "pwrite64" {
    syscalls = ["pwrite64"]
    when     = arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd
  }

  # incremental snapshot account reads on cache miss
  rule "preadv2" {
    syscalls = ["preadv2"]
    when     = arg0 == fd.accdb_ro_fd
  }

  # power saving: sleep briefly after the tile has been idle
  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
    when     = arg0 == CLOCK_REALTIME
  }

  # shutdown: exit is called on shutdown
  rule "exit" {
    syscalls = ["exit"]
    when     = arg0 == 0
  }
}
