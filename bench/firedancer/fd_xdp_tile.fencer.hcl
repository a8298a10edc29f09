# Firedancer's src/disco/net/xdp/fd_xdp_tile.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "fd_xdp_tile" {
  unit           = "fd_xdp_tile.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # xsk_fd: This is the file descriptor for the kernel XDP socket we
  #         created for the primary network device.
  #
  # lo_xsk_fd: This is the file descriptor for the kernel XDP socket we
  #            created for the loopback network device.  This is currently
  #            needed because Solana sends packets to itself on loopback.
  fd "logfile_fd" {
    number = 4
  }
  fd "xsk_fd" {
    number = 6
  }
  fd "lo_xsk_fd" {
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
  # arg 0 is the file descriptor to fsync.  The boot process ensures that
  # descriptor 3 is always the logfile.
  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile_fd
  }

  # XDP: we need to call sendto to notify the kernel there are new entries
  #      in the TX ring
  #
  # The kernel has no mechanism to continuously poll the TX queue to see if
  # there are new packets for the driver to send, so instead we must
  # notify it.  The sendto syscall has been overloaded by Linux for this
  # purpose.
  #
  # arg 0 is the file descriptor of the XSK that the kernel should poll
  # for entries.  There are two possible XSKs, since we can send packets
  # on a network device or the loopback device.
  rule "sendto" {
    syscalls = ["sendto"]
    when     = (
      contains([fd.xsk_fd, fd.lo_xsk_fd], arg0) &&
      arg1 == 0 &&
      arg2 == 0 &&
      arg3 == MSG_DONTWAIT &&
      arg4 == 0 &&
      arg5 == 0
    )
  }

  # XDP: We use XDP_USE_NEED_WAKEUP so we must notify the kernel when
  #      there are new entries in the fill ring
  #
  # The kernel by default continuously polls the fill ring of an XSK for
  # new entries, so it can reuse these to put new incoming packets into.
  # When using XDP_USE_NEED_WAKEUP, the kernel no longer does this as an
  # optimization, and so if the fill ring becomes empty, we must notify
  # the kernel when we replenish it.  The recvmsg syscall has been
  # overloaded by Linux for this purpose.
  #
  # arg 0 is the file descriptor of the XSK that the kernel should poll
  # for entries.  There are two possible XSKs, since we can receive
  # packets on a network device or the loopback device.
  rule "recvmsg" {
    syscalls = ["recvmsg"]
    when     = contains([fd.xsk_fd, fd.lo_xsk_fd], arg0) && arg2 == MSG_DONTWAIT
  }

  # XDP: We use getsockopt( SOL_XDP, XDP_STATISTICS ) to periodically
  #      retrieve packet drop counters for the XDP socket.
  rule "getsockopt" {
    syscalls = ["getsockopt"]
    when     = (
      contains([fd.xsk_fd, fd.lo_xsk_fd], arg0) &&
      arg1 == SOL_XDP &&
      arg2 == XDP_STATISTICS
    )
  }
}
