# Firedancer's src/util/sandbox/test_sandbox.seccomppolicy (Apache-2.0; the corpus in
# internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,
# written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.
# Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match
# Firedancer's filter (internal/firedancer's tests check every verdict).

service "test_sandbox" {
  unit           = "test_sandbox.service"
  hosts          = ["x86_64", "aarch64"]
  default_action = kill_process

  rule "write" {
    syscalls = ["write"]
    when     = contains([2, 3], arg0)
  }

  rule "fsync" {
    syscalls = ["fsync"]
    when     = arg0 == 3
  }

  rule "exit_group" {
    syscalls = ["exit_group"]
  }
}
