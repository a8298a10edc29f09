# Firedancer's src/disco/netlink/netlink.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "netlink" {
  unit           = "netlink.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  # logfile_fd: It can be disabled by configuration, but typically tiles
  #             will open a log file on boot and write all messages there.
  #
  # nl_mon_fd: An rtnetlink socket used to monitor updates
  # nl_req_fd: An rtnetlink socket used for request-reply
  # arp_probe_fd: A UDP socket used to indirectly generate ARP probes
  fd "logfile_fd" {
    number = 4
  }
  fd "nl_mon_fd" {
    number = 6
  }
  fd "nl_req_fd" {
    number = 8
  }
  fd "arp_probe_fd" {
    number = 10
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

  # nl_req_fd: Periodically send read-only/unprivileged rtnetlink requests
  #
  # arp_probe_fd: Send UDP packets that cause the kernel to generate ARP
  # requests
  #
  # (In theory could use send(2) but that syscall doesn't exist on arm64)
  # 16 is FD_SOCKADDR_IN_SZ
  rule "sendto" {
    syscalls = ["sendto"]
    when     = (
      (arg0 == fd.nl_req_fd && arg3 == 0 && arg4 == 0 && arg5 == 0) ||
      (arg0 == fd.arp_probe_fd && arg1 == 0 && arg2 == 0 && arg3 == MSG_DONTWAIT && arg5 == 16)
    )
  }

  # nl_mon_fd: Monitor for asynchronous rtnetlink updates
  #
  # nl_req_fd: Read replies to rtnetlink requests
  #
  # (Using recvfrom(2) instead of recv(2) for same ABI reasons as above)
  rule "recvfrom" {
    syscalls = ["recvfrom"]
    when     = (
      contains([fd.nl_mon_fd, fd.nl_req_fd], arg0) &&
      contains([0, MSG_DONTWAIT], arg3) &&
      arg4 == 0 &&
      arg5 == 0
    )
  }
}
