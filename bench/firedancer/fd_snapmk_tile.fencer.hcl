# Firedancer's src/discof/backup/fd_snapmk_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapmk_tile" {
  unit           = "fd_snapmk_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # dir_fd: The file descriptor of the snapshots directory, used to
  #         rename snapshot pool files.
  #
  # pool_min_fd/pool_max_fd: The snapshot pool file descriptor range
  #         [pool_min_fd,pool_max_fd].  The boot process opens one
  #         buffered write descriptor per managed snapshot file at the
  #         well known FD_SNAP_FD numbers before the tile is
  #         spawned; the tile writes snapshots through these and never
  #         opens or unlinks files itself.
  fd "logfile_fd" {
    number = 4
  }
  fd "dir_fd" {
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
  # 'WARNING' and above are written to the STDERR pipe, while all
  # messages are always written to the log file.
  #
  # snapshot: compressed snapshot bytes are written sequentially to the
  # snapshot pool file descriptor of the slot being produced.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR.
  rule "write" {
    syscalls = ["write"]
    when     = (
      arg0 == 2 ||
      arg0 == fd.logfile_fd ||
      (arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd)
    )
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # snapshot: the tile tracks and aligns its write position in the
  # snapshot file, and seeks past the regions the snapzp tiles pwrite.
  #
  # arg 0 is the file descriptor to seek on.
  rule "lseek" {
    syscalls = ["lseek"]
    when     = (
      (arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd) ||
      (arg0 == fd.dir_fd && arg1 == 0 && arg2 == SEEK_SET)
    )
  }

  # snapshot: locate snapshot files
  rule "fstat" {
    syscalls = ["fstat"]
    when     = arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd
  }

  # snapshot: locate snapshot files
  rule "getdents64" {
    syscalls = ["getdents64"]
    when     = arg0 == fd.dir_fd
  }

  # snapshot: locate snapshot files
  rule "newfstatat" {
    syscalls = ["newfstatat"]
    when     = arg0 == fd.dir_fd && arg3 == AT_SYMLINK_NOFOLLOW
  }

  # snapshot: "deleting" a snapshot truncates its pool file to zero
  # (the sandbox forbids unlinking), and starting a snapshot truncates
  # the target pool file in case a failed attempt left bytes behind.
  #
  # arg 0 is the file descriptor to truncate.
  rule "ftruncate" {
    syscalls = ["ftruncate"]
    when     = arg0 >= fd.pool_min_fd && arg0 <= fd.pool_max_fd
  }

  # snapshot: "deleting" a snapshot truncates its pool file to zero
  # use co-operative locking to avoid rugging a user.
  rule "fcntl" {
    syscalls = ["fcntl"]
    when     = (
      arg0 >= fd.pool_min_fd &&
      arg0 <= fd.pool_max_fd &&
      contains([F_SETLK, F_SETLKW], arg1)
    )
  }

  # snapshot: a completed snapshot is renamed from its
  # ".snapshot-x<i>.partial" placeholder name to the final snapshot name,
  # and an evicted snapshot is renamed back to its placeholder name.
  #
  # arg 0 is the file descriptor for the directory that the file is
  # being renamed from.
  #
  # arg 2 is the file descriptor for the directory that the file is
  # being renamed to.  This should be the same file descriptor as the
  # one used in arg 0.
  rule "renameat" {
    syscalls = ["renameat"]
    when     = arg0 == fd.dir_fd && arg2 == fd.dir_fd
  }

  # snapshot: before reading accounts, the tile parks the accdb
  # compaction epoch and yields while waiting for the accdb tile to
  # acknowledge the pause.
  rule "sched_yield" {
    syscalls = ["sched_yield"]
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

  # snapshot producer: power saving
  #
  # The snapmk tile usually sleeps on a futex to save power, and wakes
  # other power saving tiles (snapsv).
  rule "futex" {
    syscalls = ["futex"]
    when     = contains([FUTEX_WAIT, FUTEX_WAKE], arg1)
  }
}
