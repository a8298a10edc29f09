# Firedancer's src/discoh/guih/fd_guih_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_guih_tile" {
  unit           = "fd_guih_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # gui_socket_fd: The http tile serves a GUI over HTTP, which is over TCP
  #                and does not use our XDP program.  It uses regular
  #                kernel sockets, so this is the socket file descriptor.
  fd "logfile_fd" {
    number = 4
  }
  fd "gui_socket_fd" {
    number = 6
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR and descriptor 4 is the logfile.
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

  # server: serving pages over HTTP requires accepting connections
  #
  # arg 0 is the listen socket file descriptor to accept connections on
  rule "accept4" {
    syscalls = ["accept4"]
    when     = (
      arg0 == fd.gui_socket_fd &&
      arg1 == 0 &&
      arg2 == 0 &&
      arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
    )
  }

  # server: serving pages over HTTP requires reading from connections
  #
  # arg 0 is the file descriptor to read from.  It can be any of the
  # connected client sockets returned by accept4(2).  To accommodate this,
  # we allow any file descriptor except those which we know are not these
  # connected clients, which are the log file, STDERR, and the listening
  # socket itself.
  rule "read" {
    syscalls = ["read"]
    when     = !contains([2, fd.logfile_fd, fd.gui_socket_fd], arg0)
  }

  # server: serving pages over HTTP requires writing to connections
  #
  # arg 0 is the file descriptor to send to.  It can be any of the
  # connected client sockets returned by accept4(2).  To accommodate this,
  # we allow any file descriptor except those which we know are not these
  # connected clients, which are the log file, STDERR, and the listening
  # socket itself.
  rule "sendto" {
    syscalls = ["sendto"]
    when     = !contains([2, fd.logfile_fd, fd.gui_socket_fd], arg0)
  }

  # server: serving websockets quickly requires gathered IO writes
  #
  # arg 0 is the file descriptor to send to.  It can be any of the
  # connected client sockets returned by accept4(2).  To accommodate this,
  # we allow any file descriptor except those which we know are not these
  # connected clients, which are the log file, STDERR, and the listening
  # socket itself.
  rule "sendmsg" {
    syscalls = ["sendmsg"]
    when     = !contains([2, fd.logfile_fd, fd.gui_socket_fd], arg0) && arg2 == MSG_NOSIGNAL
  }

  # server: serving pages over HTTP requires closing connections
  #
  # arg 0 is the file descriptor to close.  It can be any of the connected
  # client sockets returned by accept4(2).  To accommodate this, we allow
  # any file descriptor except those which we know are not these connected
  # clients, which are the log file, STDERR, and the listening socket
  # itself.
  rule "close" {
    syscalls = ["close"]
    when     = !contains([2, fd.logfile_fd, fd.gui_socket_fd], arg0)
  }

  # server: serving pages over HTTP requires polling connections
  rule "ppoll" {
    syscalls = ["ppoll"]
  }
}
