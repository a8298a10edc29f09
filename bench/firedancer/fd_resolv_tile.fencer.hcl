# Firedancer's src/discof/resolv/fd_resolv_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_resolv_tile" {
  unit           = "fd_resolv_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd:  It can be disabled by configuration, but typically tiles
  #              will open a log file on boot and write all messages there.
  #
  # accdb_ro_fd: Read-only file descriptor onto the accdb data file.  The
  #              resolv tile uses preadv2 against this fd to load address
  #              lookup table accounts on cache miss.
  fd "logfile_fd" {
    number = 4
  }
  fd "accdb_ro_fd" {
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

  # startup: sleep until snapshot loaded
  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
    when     = arg0 == CLOCK_REALTIME
  }

  # accounts database: serving address lookup table reads on cache miss
  #
  # arg 0 is the file descriptor to read from.
  rule "preadv2" {
    syscalls = ["preadv2"]
    when     = arg0 == fd.accdb_ro_fd
  }
}
