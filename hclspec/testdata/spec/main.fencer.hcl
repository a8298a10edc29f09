variable "log_path" { default = "/var/log/metrics.log" }   # also -var, -var-file, FENCER_VAR_log_path
locals { port = 7999 }

host "edge" {                       # none declared: one implicit host "local", this machine
  for_each = toset(["edge-1", "edge-2"])
  address  = each.value             # SSH; omitted means this machine
  user     = "root"
  arch     = "aarch64"              # optional: discovered (uname -m) when omitted
  scope    = "system"               # or "user": the user's systemd manager and unit paths
  fencer_path = "/usr/local/bin/fencer"  # where the exec loader lives on that host
}

service "metrics" {
  unit           = "metrics.service"
  unit_file      = file("metrics.service")   # optional: fencer installs the base unit too
  exec_start     = null              # optional: else the host unit's own ExecStart is wrapped
  hosts          = ["edge"]          # host names; default: every host
  default_action = "kill_process"    # kill_process | kill_thread | trap | log | errno(EPERM)
  enforce        = "exec"            # exec (default) | systemd — see §4

  fd "logfile" {                     # exactly one binding per fd
    stdout = "append:${var.log_path}"   # -> StandardOutput=append:...  => fd 1
  }
  fd "metrics_socket" {
    listen_stream = "0.0.0.0:${local.port}"  # -> <unit>.socket  => fd 3, 4, ... in order
  }

  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.logfile
  }
  rule "log_sync" {
    syscalls = ["fsync"]
    when     = arg0 == fd.logfile
  }
  rule "accept" {
    syscalls = ["accept4"]
    when     = arg0 == fd.metrics_socket && arg1 == 0 && arg2 == 0 && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }
  rule "client_io" {
    syscalls = ["read", "sendto", "close"]
    when     = !contains([2, fd.logfile, fd.metrics_socket], arg0)
  }
  rule "wait" {
    syscalls = ["poll"]
    arch     = ["x86_64"]            # arm64 has no poll
  }
  rule "wait_arm64" {
    syscalls = ["ppoll"]
    arch     = ["aarch64"]
  }
}

test "stderr is writable" {
  service = "metrics"
  syscall = "write"
  args    = [2]
  expect  = "allow"                  # run on every arch the service is planned for
}
test "a client socket cannot be written with write(2)" {
  service = "metrics"
  syscall = "write"
  args    = [7]
  expect  = "kill_process"
}
