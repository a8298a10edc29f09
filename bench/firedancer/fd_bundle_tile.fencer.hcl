# Firedancer's src/disco/bundle/fd_bundle_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_bundle_tile" {
  unit           = "fd_bundle_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # keylog_fd: Log HTTPS session keys to file (development option)
  #
  # etc_hosts_fd, etc_resolv_conf: Used to resolve DNS records.
  fd "logfile_fd" {
    number = 4
  }
  fd "keylog_fd" {
    number = 6
  }
  fd "etc_hosts_fd" {
    number = 8
  }
  fd "etc_resolv_conf" {
    number = 10
  }

  # bundle: Read from TCP connection (HTTPS)
  #
  # resolv: Read DNS config
  rule "read" {
    syscalls = ["read"]
  }

  # bundle: Read from TCP connection (HTTP)
  #
  # resolv: Receive DNS responses
  rule "recvmsg" {
    syscalls = ["recvmsg"]
    when     = contains([bitor(MSG_NOSIGNAL, MSG_DONTWAIT), 0], arg2)
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

  # OpenSSL: SSLKEYLOGFILE
  rule "writev" {
    syscalls = ["writev"]
    when     = arg0 == fd.keylog_fd && arg2 == 2
  }

  # bundle: Write to TCP connection (HTTP)
  #
  # resolv: Send DNS queries via UDP or TCP
  rule "sendmsg" {
    syscalls = ["sendmsg"]
    when     = contains([bitor(MSG_NOSIGNAL, MSG_DONTWAIT), bitor(MSG_FASTOPEN, MSG_NOSIGNAL), MSG_NOSIGNAL], arg2)
  }

  # bundle: Write to TCP connection (HTTPS)
  #
  # resolv: Send DNS queries via UDP or TCP
  rule "sendto" {
    syscalls = ["sendto"]
    when     = arg3 == MSG_NOSIGNAL
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # bundle: TCP connection to the bundle server needs to be established.
  #
  # resolv: Send DNS queries via UDP or TCP
  rule "socket" {
    syscalls = ["socket"]
    when     = (
      contains([AF_INET, AF_INET6], arg0) &&
      ((contains([bitor(SOCK_STREAM, SOCK_CLOEXEC), bitor(SOCK_STREAM, SOCK_CLOEXEC, SOCK_NONBLOCK)], arg1) && arg2 == 0) || (arg1 == bitor(SOCK_DGRAM, SOCK_CLOEXEC, SOCK_NONBLOCK) && arg2 == 0) || (arg1 == bitor(SOCK_DGRAM, SOCK_CLOEXEC) && arg2 == IPPROTO_UDP))
    )
  }

  rule "connect" {
    syscalls = ["connect"]
  }

  # bundle: TCP connection is closed if there is an error, and a new one
  #         is reopened
  rule "shutdown" {
    syscalls = ["shutdown"]
    when     = arg1 == SHUT_WR
  }

  # bundle: TCP connection is closed if there is an error, and a new one
  #         is reopened
  # resolv: Close UDP/TCP sockets once done querying DNS
  rule "close" {
    syscalls = ["close"]
  }

  # bundle: Make TCP connection non-blocking
  rule "fcntl" {
    syscalls = ["fcntl"]
    when     = arg1 == F_SETFL && arg2 == O_NONBLOCK
  }

  # resolv: Bind DNS request socket
  # 16 is sizeof(struct sockaddr_in)
  # 28 is sizeof(struct sockaddr_in6)
  rule "bind" {
    syscalls = ["bind"]
    when     = contains([16, 28], arg2)
  }

  # bundle: Wait for TCP connection to be established
  #
  # resolv: Wait for DNS responses
  rule "ppoll" {
    syscalls = ["ppoll"]
  }

  # bundle: configure TCP socket (for gRPC connection)
  #
  # resolv: configure UDP or TCP socket (for DNS queries)
  rule "setsockopt" {
    syscalls = ["setsockopt"]
    when     = (
      (arg1 == SOL_SOCKET && arg2 == SO_RCVBUF) ||
      (arg1 == SOL_TCP && arg2 == TCP_NODELAY) ||
      (arg1 == IPPROTO_TCP && arg2 == TCP_FASTOPEN_CONNECT) ||
      (arg1 == IPPROTO_IPV6 && arg2 == IPV6_V6ONLY)
    )
  }

  # bundle: get TCP socket connection error (for gRPC connection)
  rule "getsockopt" {
    syscalls = ["getsockopt"]
    when     = arg1 == SOL_SOCKET && arg2 == SO_ERROR
  }

  # resolv: check if DNS queries use IPv6
  rule "getsockname" {
    syscalls = ["getsockname"]
  }

  # openssl: RAND_bytes requires getpid
  #
  # QUIC uses OpenSSL RAND_bytes to generate randomness, which it uses for
  # picking connection IDs.  The OpenSSL implementation calls getpid() as
  # an implementation detail, they save the PID in a global and reseed the
  # RNG if the PID ever changes (the process was forked).  We don't need
  # this logic since our process can't fork.
  rule "getpid" {
    syscalls = ["getpid"]
  }

  # openssl: RAND_bytes requires getrandom
  #
  # QUIC uses OpenSSL RAND_bytes to generate randomness, which it uses for
  # picking connection IDs.  The OpenSSL implementation calls getrandom
  # internally for periodically reseeding the RNG.
  rule "getrandom" {
    syscalls = ["getrandom"]
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

  # bundle: yield to scheduler to save power
  rule "sched_yield" {
    syscalls = ["sched_yield"]
  }

  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
  }
}
