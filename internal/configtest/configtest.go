// Package configtest holds what the tests of package plan and the packages
// below it share: the parsing of a configuration given as text, and the
// configurations several of them test with.
package configtest

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
)

// Parse parses src as a configuration's one file, main.fencer.hcl, and
// fails the test on an error.
func Parse(t testing.TB, src string) *hclspec.Config {
	t.Helper()
	cfg, diags := hclspec.Parse(map[string][]byte{"main.fencer.hcl": []byte(src)}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	return cfg
}

// Service is service "s" (unit s.service, default_action errno(EPERM), fd
// "log" on stdout and fd "sock" listening) with the given rules.
func Service(rules string) string {
	return `service "s" {
  unit = "s.service"
  default_action = errno(EPERM)
  fd "log" {
    stdout = "append:/var/log/s.log"
  }
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
` + rules + "\n}\n"
}

// ExecService is service "s" with the given settings (default_action =
// kill_process unless they set it) and rules; its only other rule allows
// write.
func ExecService(settings, rules string) string {
	if !strings.Contains(settings, "default_action") {
		settings = "  default_action = kill_process\n" + settings
	}
	return `service "s" {
  unit = "s.service"
` + settings + `
  rule "w" {
    syscalls = ["write"]
  }
` + rules + "\n}\n"
}

// Systemd is a service under enforce = "systemd" whose policy denies, fails
// and conditions syscalls; its conditions are on lines 19 and 23.
const Systemd = `service "m" {
  unit           = "m.service"
  unit_file      = "[Service]\nExecStart=/usr/bin/m\n"
  enforce        = "systemd"
  default_action = kill_process
  rule "start" {
    syscalls = ["execve", "exit_group", "brk", "read"]
  }
  rule "no_debugging" {
    syscalls = ["ptrace", "unshare"]
    action   = kill_process
  }
  rule "pid" {
    syscalls = ["getpid"]
    action   = errno(EACCES)
  }
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2
  }
  rule "no_stdin" {
    syscalls = ["read"]
    when     = arg0 == 0
    action   = errno(EBADF)
  }
  rule "logged" {
    syscalls = ["uname"]
    action   = log
  }
}
`
