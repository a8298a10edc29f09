# Firedancer's src/discof/capture/fd_solcap_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_solcap_tile" {
  unit           = "fd_solcap_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # solcap_fd_0: The first solcap capture file (single file mode or recent_0.solcap)
  # solcap_fd_1: The second solcap capture file (recent_1.solcap in recent_only mode)
  fd "logfile_fd" {
    number = 4
  }
  fd "solcap_fd_0" {
    number = 6
  }
  fd "solcap_fd_1" {
    number = 8
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # The capture tile writes to the solcap file(s).
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR.
  rule "write" {
    syscalls = ["write"]
    when     = contains([2, fd.logfile_fd, fd.solcap_fd_0, fd.solcap_fd_1], arg0)
  }

  # lseek: used to reset file position to 0 after truncating rotating capture files
  #
  # arg 0 is the file descriptor to lseek.
  rule "lseek" {
    syscalls = ["lseek"]
    when     = contains([fd.solcap_fd_0, fd.solcap_fd_1], arg0)
  }

  # ftruncate: used to clear rotating capture files to 0 bytes before reuse
  #
  # arg 0 is the file descriptor to truncate.
  rule "ftruncate" {
    syscalls = ["ftruncate"]
    when     = contains([fd.solcap_fd_0, fd.solcap_fd_1], arg0)
  }

  # fsync: used to synchronize file state to disk
  #
  # logging: 'WARNING' and above fsync the logfile to disk immediately
  # capture: solcap files are fsync'd during file rotation (both old and new files)
  #          and after each bank preimage write for consistency
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = contains([fd.logfile_fd, fd.solcap_fd_0, fd.solcap_fd_1], arg0)
  }

  # startup: sleep until snapshot loaded
  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
    when     = arg0 == CLOCK_REALTIME
  }
}
