# Firedancer's src/discof/restore/fd_snapct_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapct_tile" {
  unit           = "fd_snapct_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # etc_hosts_fd, etc_resolv_conf_fd: Used to resolve DNS records for the
  #                                   snapshot sources and gossip
  #                                   entrypoints.
  fd "logfile_fd" {
    number = 4
  }
  fd "dir_fd" {
    number = 6
  }
  fd "out_full_fd" {
    number = 8
  }
  fd "out_inc_fd" {
    number = 10
  }
  fd "min_ping_fd" {
    number = 12
  }
  fd "max_ping_fd" {
    number = 14
  }
  fd "etc_hosts_fd" {
    number = 16
  }
  fd "etc_resolv_conf_fd" {
    number = 18
  }

  # logging: all log messages are written to a file and/or pipe
  #
  # 'WARNING' and above are written to the STDERR pipe, while all messages
  # are always written to the log file.
  #
  # arg 0 is the file descriptor to write to.  The boot process ensures
  # that descriptor 2 is always STDERR.  Other files that can be
  # written to include the out descriptors for the full and incremental
  # snapshots.
  rule "write" {
    syscalls = ["write"]
    when     = contains([2, fd.logfile_fd, fd.out_full_fd, fd.out_inc_fd], arg0)
  }

  # When retrying a snapshot, any written content into the full or
  # incremental output snapshot files must be reset before another
  # snapshot can be loaded.
  rule "ftruncate" {
    syscalls = ["ftruncate"]
    when     = contains([fd.out_full_fd, fd.out_inc_fd], arg0)
  }

  # resolv: DNS config files are rewound before each read
  rule "lseek" {
    syscalls = ["lseek"]
    when     = (
      arg0 == fd.out_full_fd ||
      arg0 == fd.out_inc_fd ||
      (contains([fd.etc_hosts_fd, fd.etc_resolv_conf_fd], arg0) && arg1 == 0 && arg2 == SEEK_SET)
    )
  }

  # openssl: read
  #
  # OpenSSL calls read to receive bytes from a socket.  We will restrict
  # this being called on the stderr, the log file descriptor, the snapshot
  # directory, the full and incremental snapshot files, and the ping file
  # descriptors.
  rule "read" {
    syscalls = ["read"]
    when     = !(arg0 == 2 || arg0 == fd.logfile_fd || arg0 == fd.dir_fd || arg0 == fd.out_full_fd || arg0 == fd.out_inc_fd || (arg0 >= fd.min_ping_fd && arg0 <= fd.max_ping_fd))
  }

  # logging: 'WARNING' and above fsync the logfile to disk immediately
  #
  # arg 0 is the file descriptor to fsync.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # snapshot: establish connections when initializing client for snapshot
  # download.  Also establish connections to receive snapshot slot info
  #
  # resolv: send DNS queries via UDP
  rule "socket" {
    syscalls = ["socket"]
    when     = (
      (arg0 == AF_INET && arg1 == bitor(SOCK_STREAM, SOCK_NONBLOCK) && arg2 == 0) ||
      (arg0 == AF_INET && arg1 == bitor(SOCK_DGRAM, SOCK_CLOEXEC, SOCK_NONBLOCK) && arg2 == 0)
    )
  }

  # resolv: receive DNS responses
  rule "recvmsg" {
    syscalls = ["recvmsg"]
    when     = arg2 == 0
  }

  # snapshot: need to be able to connect to a peer to download a snapshot
  # from and for snapshot slot resolution.  We also call connect on all
  # the ping file descriptors.
  #
  # arg 0 is the file descriptor of the socket to connect to.  We will
  # restrict this being called on any of the snapshot file descriptors,
  # STDERR or the logfile.
  rule "connect" {
    syscalls = ["connect"]
    when     = !contains([2, fd.logfile_fd, fd.dir_fd, fd.out_full_fd, fd.out_inc_fd], arg0)
  }

  # snapshot: need to close sockets that were opened when calls to connect
  # fail.
  #
  # arg 0 is the file descriptor that we would like to close.  We will
  # restrict this being called on any of the snapshot file descriptors,
  # STDERR or the logfile.
  rule "close" {
    syscalls = ["close"]
    when     = !(arg0 == 2 || arg0 == fd.logfile_fd || arg0 == fd.dir_fd || arg0 == fd.out_full_fd || arg0 == fd.out_inc_fd || (arg0 >= fd.min_ping_fd && arg0 <= fd.max_ping_fd))
  }

  # snapshot: we need to be able to poll existing connections that we want
  # to download snapshots and resolve snapshots from, and to poll the ping
  # connections to see if any peers have responded
  rule "ppoll" {
    syscalls = ["ppoll"]
  }

  # snapshot: send HTTP requests to endpoints for snapshot downloading.
  # OpenSSL also uses sendto to write to the socket during the lifetime
  # of an HTTPS connection.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on any of the snapshot file
  # descriptors, ping file descriptors, STDERR or the logfile.
  rule "sendto" {
    syscalls = ["sendto"]
    when     = !(arg0 == 2 || arg0 == fd.logfile_fd || arg0 == fd.dir_fd || arg0 == fd.out_full_fd || arg0 == fd.out_inc_fd || (arg0 >= fd.min_ping_fd && arg0 <= fd.max_ping_fd))
  }

  # snapshot: we need to be able to receive responses for any requests
  # that were sent out for snapshot download or slot resolution.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on any of the snapshot file
  # descriptors, STDERR or the logfile.
  rule "recvfrom" {
    syscalls = ["recvfrom"]
    when     = !contains([2, fd.logfile_fd, fd.dir_fd, fd.out_full_fd, fd.out_inc_fd], arg0)
  }

  # snapshot: we need to be able to configure out socket connection from
  # the peer that we download our snapshot from or resolve slot
  # information from.
  #
  # arg 0 is the file descriptor that corresponds to the socket that we
  # want to connect to.  We know that we don't want to connect to the
  # file descriptors used for logging, stderr, ping or any of the snapshot
  # fds.  The ping file descriptors set this option in privileged_init.
  rule "setsockopt" {
    syscalls = ["setsockopt"]
    when     = (
      !(arg0 == 2 || arg0 == fd.logfile_fd || arg0 == fd.dir_fd || arg0 == fd.out_full_fd || arg0 == fd.out_inc_fd || (arg0 >= fd.min_ping_fd && arg0 <= fd.max_ping_fd)) &&
      arg1 == IPPROTO_TCP &&
      arg2 == TCP_NODELAY
    )
  }

  # snapshot: after a snapshot file has been read in, the file is renamed
  # to its full name
  #
  # arg 0 is the file descriptor for the directory that the file is being
  # renamed from
  #
  # arg 2 is the file descriptor for the directory that the file is being
  # renamed to.  This should be the same file descriptor as the one used
  # in arg 0
  rule "renameat" {
    syscalls = ["renameat"]
    when     = arg0 == fd.dir_fd && arg2 == fd.dir_fd
  }

  rule "renameat2" {
    syscalls = ["renameat2"]
    when     = arg0 == fd.dir_fd && arg2 == fd.dir_fd && arg4 == 1
  }

  # openssl: RAND_bytes requires getpid
  #
  # The OpenSSL implementation calls getpid() as an implementation
  # detail, they save the PID in a global and reseed the RNG if the PID
  # ever changes (the process was forked).  We don't need this logic since
  # our process can't fork.
  rule "getpid" {
    syscalls = ["getpid"]
  }

  # openssl: RAND_bytes requires getrandom
  #
  # The OpenSSL implementation calls getrandom internally for periodically
  # reseeding the RNG.
  rule "getrandom" {
    syscalls = ["getrandom"]
  }

  # shutdown: exit is called on shutdown
  rule "exit" {
    syscalls = ["exit"]
    when     = arg0 == 0
  }
}
