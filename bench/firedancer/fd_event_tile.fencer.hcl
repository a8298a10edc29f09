# Firedancer's src/disco/events/fd_event_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_event_tile" {
  unit           = "fd_event_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  fd "logfile_fd" {
    number = 4
  }
  fd "etc_hosts_fd" {
    number = 6
  }
  fd "etc_resolv_conf" {
    number = 8
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

  # client: need to be able to establish connections to the event server.
  # resolv: need to query IPv4 or IPv6 nameservers.
  #             (eq (arg 1) "SOCK_STREAM|SOCK_NONBLOCK") TODO: UNCOMMENTING CAUSES SIGSYS ?
  rule "socket" {
    syscalls = ["socket"]
    when     = contains([AF_INET, AF_INET6], arg0) && arg2 == 0
  }

  # resolv: Bind DNS request socket
  # 16 is sizeof(struct sockaddr_in)
  # 28 is sizeof(struct sockaddr_in6)
  rule "bind" {
    syscalls = ["bind"]
    when     = contains([16, 28], arg2)
  }

  # resolv: Wait for DNS responses
  rule "ppoll" {
    syscalls = ["ppoll"]
  }

  # resolv: Receive DNS responses
  rule "recvmsg" {
    syscalls = ["recvmsg"]
    when     = contains([bitor(MSG_NOSIGNAL, MSG_DONTWAIT), 0], arg2)
  }

  # resolv: Send DNS queries via UDP or TCP
  rule "sendmsg" {
    syscalls = ["sendmsg"]
    when     = contains([bitor(MSG_NOSIGNAL, MSG_DONTWAIT), bitor(MSG_FASTOPEN, MSG_NOSIGNAL), MSG_NOSIGNAL], arg2)
  }

  # client: need to be able to connect to the event server to send events.
  #
  # arg 0 is the file descriptor of the socket to connect to.  We will
  # restrict this being called on STDERR or the logfile.
  rule "connect" {
    syscalls = ["connect"]
    when     = !contains([2, fd.etc_resolv_conf, fd.etc_hosts_fd, fd.logfile_fd], arg0)
  }

  # client: need to close sockets that were opened when calls to connect
  # fail.
  #
  # arg 0 is the file descriptor that we would like to close.  We will
  # restrict this being called on STDERR or the logfile.
  rule "close" {
    syscalls = ["close"]
    when     = !contains([2, fd.etc_resolv_conf, fd.etc_hosts_fd, fd.logfile_fd], arg0)
  }

  # client: we need to send tcp event data to the server.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on STDERR or the logfile.
  rule "sendto" {
    syscalls = ["sendto"]
    when     = (
      !contains([2, fd.etc_resolv_conf, fd.etc_hosts_fd, fd.logfile_fd], arg0) &&
      arg3 == MSG_NOSIGNAL
    )
  }

  # client: we need to be able to receive response data from the server.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on STDERR or the logfile.
  rule "recvfrom" {
    syscalls = ["recvfrom"]
    when     = (
      !contains([2, fd.etc_resolv_conf, fd.etc_hosts_fd, fd.logfile_fd], arg0) &&
      arg3 == MSG_NOSIGNAL
    )
  }

  # resolv: Read DNS config
  rule "lseek" {
    syscalls = ["lseek"]
    when     = (
      contains([fd.etc_resolv_conf, fd.etc_hosts_fd], arg0) &&
      arg1 == 0 &&
      arg2 == SEEK_SET
    )
  }

  # resolv: Read DNS config
  # openssl: Read from TCP socket during TLS handshake
  rule "read" {
    syscalls = ["read"]
  }

  # client: TCP_NODELAY for low-latency connection to event server
  # client: SO_SNDBUF to configure send buffer size
  # resolv: socket options needed for DNS resolution
  rule "setsockopt" {
    syscalls = ["setsockopt"]
    when     = (
      (arg1 == SOL_TCP && arg2 == TCP_NODELAY) ||
      (arg1 == IPPROTO_TCP && arg2 == TCP_FASTOPEN_CONNECT) ||
      (arg1 == SOL_SOCKET && arg2 == SO_SNDBUF) ||
      (arg1 == SOL_SOCKET && arg2 == SO_RCVBUF) ||
      arg1 == SOL_IP ||
      arg1 == IPPROTO_IPV6
    )
  }

  # openssl: RAND_bytes requires getpid
  rule "getpid" {
    syscalls = ["getpid"]
  }

  # openssl: RAND_bytes requires getrandom
  rule "getrandom" {
    syscalls = ["getrandom"]
  }
}
