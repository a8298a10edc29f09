# Firedancer's src/discof/restore/fd_snapld_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_snapld_tile" {
  unit           = "fd_snapld_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  fd "logfile_fd" {
    number = 4
  }
  fd "in_full_fd" {
    number = 6
  }
  fd "in_incr_fd" {
    number = 8
  }
  fd "sockfd" {
    number = 10
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

  # snapshot: need to be able to read from an open file for snapshot
  # loading and from the socket file descriptor.  OpenSSL calls read to
  # receive bytes from an https connection.
  #
  # arg 0 is the file descriptor that we want to read from
  rule "read" {
    syscalls = ["read"]
    when     = contains([fd.in_full_fd, fd.in_incr_fd, fd.sockfd], arg0)
  }

  # snapshot: Uses lseek to reset position in input file
  rule "lseek" {
    syscalls = ["lseek"]
    when     = contains([fd.in_full_fd, fd.in_incr_fd], arg0) && arg1 == 0 && arg2 == SEEK_SET
  }

  # snapshot: establish connections for snapshot download.
  rule "socket" {
    syscalls = ["socket"]
    when     = arg0 == AF_INET && arg1 == bitor(SOCK_STREAM, SOCK_NONBLOCK) && arg2 == 0
  }

  # snapshot: need to be able to connect to a peer to download a snapshot
  # from and for snapshot slot resolution.
  #
  # arg 0 is the file descriptor of the socket to connect to.  We will
  # restrict this being called on any of the snapshot file descriptors,
  # STDERR or the logfile.
  rule "connect" {
    syscalls = ["connect"]
    when     = !contains([2, fd.logfile_fd, fd.in_full_fd, fd.in_incr_fd], arg0)
  }

  # snapshot: need to close sockets that were opened when calls to connect
  # fail.
  #
  # arg 0 is the file descriptor that we would like to close.  We will
  # restrict this being called on any of the snapshot file descriptors,
  # STDERR or the logfile.
  rule "close" {
    syscalls = ["close"]
    when     = !contains([2, fd.logfile_fd, fd.in_full_fd, fd.in_incr_fd], arg0)
  }

  # snapshot: send HTTP requests to endpoints for snapshot downloading.
  # OpenSSL also uses sendto to write to the socket during the lifetime
  # of an HTTPS connection.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on any of the snapshot file
  # descriptors, STDERR or the logfile.
  rule "sendto" {
    syscalls = ["sendto"]
    when     = !contains([2, fd.logfile_fd, fd.in_full_fd, fd.in_incr_fd], arg0)
  }

  # snapshot: we need to be able to receive responses for any requests
  # that were sent out for snapshot download or slot resolution.
  #
  # arg 0 is the file descriptor that we would like to send a request to.
  # We will restrict this being called on any of the snapshot file
  # descriptors, STDERR or the logfile.
  rule "recvfrom" {
    syscalls = ["recvfrom"]
    when     = !contains([2, fd.logfile_fd, fd.in_full_fd, fd.in_incr_fd], arg0)
  }

  # snapshot: if we are bottlenecked by the network, spinning on
  # non-blocking recv() calls will waste power and may have lower
  # throughput.
  rule "ppoll" {
    syscalls = ["ppoll"]
    when     = arg1 == 1
  }

  # snapshot: yield to scheduler during idle pipeline to save power
  rule "clock_nanosleep" {
    syscalls = ["clock_nanosleep"]
  }

  # openssl: RAND_bytes requires getpid
  #
  # The OpenSSL implementation calls getpid() as an implementation detail,
  # they save the PID in a global and reseed the RNG if the PID ever
  # changes (the process was forked).  We don't need this logic since our
  # process can't fork.
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
