# Two web hosts that run the metrics server, planned and applied from one
# controller over SSH, or each by itself in pull mode (fencer-pull.service
# runs `fencer apply -host=NAME` on the host, which ignores the address).

fencer {
  id = "metrics-fleet"
}

variable "log_path" {
  type    = string
  default = "/var/log/metrics.log"
}

variable "port" {
  type    = number
  default = 7999
}

variable "scope" {
  type        = string
  default     = "system"
  description = "system: the system manager and /etc; user: the user's manager and ~/.config."
}

variable "server_path" {
  type        = string
  default     = "/usr/local/libexec/metrics-server"
  description = "Where the server built by examples/metrics/build.sh is installed on each host."
}

variable "fencer_path" {
  type        = string
  default     = "/usr/local/bin/fencer"
  description = "Where the loader (fencer itself) is, or is installed, on each host."
}

host "web-1" {
  address     = "web-1.example.com"
  scope       = var.scope
  fencer_path = var.fencer_path
}

host "web-2" {
  address     = "web-2.example.com"
  scope       = var.scope
  fencer_path = var.fencer_path
}
