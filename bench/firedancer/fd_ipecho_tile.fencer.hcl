# Firedancer's src/discof/ipecho/fd_ipecho_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_ipecho_tile" {
  unit           = "fd_ipecho_tile.service"
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

  # client: if a connectiion via connect() fails, close the file
  # descriptor.  Only close the file descriptors opened via socket, so
  # not STDERR nor the logfile.
  #
  # server: if a sendto a connection fails, close the file descriptor
  #
  # arg 0 is the file descriptor to close.
  rule "close" {
    syscalls = ["close"]
    when     = !contains([fd.logfile_fd, 2], arg0)
  }

  # server: read from an open connection that has been accepted
  #
  # arg 0 is the file descriptor to read.  We will restrict the file
  # descriptor used for STDERR and logging.
  rule "read" {
    syscalls = ["read"]
    when     = !contains([fd.logfile_fd, 2], arg0)
  }

  # server: accept new connections
  #
  # arg 0 is the socket file descriptor.   We will restrict the file
  # descriptor used for STDERR and logging.
  rule "accept4" {
    syscalls = ["accept4"]
    when     = (
      !contains([fd.logfile_fd, 2], arg0) &&
      arg3 == bitor(SOCK_NONBLOCK, SOCK_CLOEXEC)
    )
  }

  # server: requires polling existing connections
  rule "ppoll" {
    syscalls = ["ppoll"]
  }

  # client/server: need to send messages
  #
  # arg 0 is the file descriptor that we want to send messages to.  We
  # will allow sending to any of the descriptors opened in the client.
  # Only restrict from sending to the logfile and STDERR
  rule "sendto" {
    syscalls = ["sendto"]
    when     = (
      !contains([fd.logfile_fd, 2], arg0) &&
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
    when     = !contains([fd.logfile_fd, 2], arg0) && arg3 == 0 && arg4 == 0 && arg5 == 0
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }
}
