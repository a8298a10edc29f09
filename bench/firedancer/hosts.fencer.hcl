# The architectures Firedancer builds its filters for, one host each, so that each
# policy is compiled for those it is meant for (NAME_arm64 replaces NAME on aarch64).
# Written by internal/firedancer/cmd/fdgen: do not edit.

fencer {
  id = "firedancer"
}

host "x86_64" {
  arch = "x86_64"
}

host "aarch64" {
  arch = "aarch64"
}
