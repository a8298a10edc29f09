# The host of the acceptance tests: this machine's user manager (the
# tests' own, see internal/usermanager), x86_64.

variable "scope" {
  type    = string
  default = "system"
}

variable "fencer_path" {
  type    = string
  default = "/usr/local/bin/fencer"
}

host "local" {
  scope       = var.scope
  arch        = "x86_64"
  fencer_path = var.fencer_path
}
