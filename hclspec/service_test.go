package hclspec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

func TestFdNumbers(t *testing.T) {
	src := `
service "m" {
  unit = "m@instance.service"
  fd "config" { open_file = "/etc/m.conf:config:read-only" }
  fd "in"     { stdin = "null" }
  fd "web"    { listen_stream = "[::]:443" }
  fd "err"    { stderr = "journal" }
  fd "dns"    { listen_datagram = "127.0.0.1:53" }
  fd "ctl"    { listen_sequential_packet = "/run/m.ctl" }
  fd "state"  { open_file = "/var/lib/m/state" }
  fd "own"    { number = 42 }
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	var got []string
	for _, fd := range cfg.Services[0].Fds {
		got = append(got, fmt.Sprintf("%s=%d", fd.Name, fd.Number))
	}
	want := []string{"config=6", "in=0", "web=3", "err=2", "dns=4", "ctl=5", "state=7", "own=42"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fds = %q, want %q", got, want)
	}
}

func TestActions(t *testing.T) {
	src := `
variable "deny" { default = "errno(EACCES)" }
service "m" {
  unit           = "m.service"
  default_action = var.deny
  rule "a" {
    syscalls = ["read"]
    action   = errno(13)
  }
  rule "b" {
    syscalls = ["read"]
    action   = "errno(EPERM)"
  }
  rule "c" {
    syscalls = ["read"]
    action   = trap
  }
  rule "d" {
    syscalls = ["read"]
    action   = trap(7)
  }
  rule "e" {
    syscalls = ["read"]
    action   = "kill_thread"
  }
  rule "f" {
    syscalls = ["read"]
    action   = log
  }
  rule "g" {
    syscalls = ["read"]
  }
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	s := cfg.Services[0]
	got := []string{s.DefaultAction.String()}
	for _, r := range s.Rules {
		got = append(got, r.Action.String())
	}
	want := []string{"errno(EACCES)", "errno(13)", "errno(EPERM)", "trap", "trap(7)", "kill_thread", "log", "allow"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actions = %q, want %q", got, want)
	}
	if s.Rules[1].Action.Kind != policy.Errno {
		t.Errorf("kind = %v", s.Rules[1].Action.Kind)
	}
	// The errno name of a string action points into the string.
	if got := rangeText(cfg, s.Rules[1].Action.Errno.Range()); got != "EPERM" {
		t.Errorf("range of EPERM covers %q", got)
	}
}

func TestSyscallSets(t *testing.T) {
	src := `
syscall_set "base" {
  syscalls = ["brk", "mmap"]
}
syscall_set "startup" {
  syscalls = ["execve", syscall_set.base, "brk"]
}
locals {
  io = ["read", "write"]
}
service "m" {
  unit = "m.service"
  rule "start" {
    syscalls = syscall_set.startup
  }
  rule "io" {
    syscalls = concat(local.io, ["close"])
  }
  rule "mixed" {
    syscalls = ["exit_group", syscall_set.base, local.io]
  }
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	var sets []string
	for _, s := range cfg.SyscallSets {
		sets = append(sets, s.Name+": "+refsString(s.Syscalls))
	}
	if want := []string{"base: brk/base mmap/base", "startup: execve/startup brk/base mmap/base"}; !reflect.DeepEqual(sets, want) {
		t.Errorf("sets = %q, want %q", sets, want)
	}
	var rules []string
	for _, r := range cfg.Services[0].Rules {
		rules = append(rules, r.Name+": "+refsString(r.Syscalls))
	}
	want := []string{
		"start: execve/startup brk/base mmap/base",
		"io: read/ write/ close/",
		"mixed: exit_group/ brk/base mmap/base read/ write/",
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules = %q, want %q", rules, want)
	}
	// A set member keeps its range in the set block.
	mmap := cfg.Services[0].Rules[0].Syscalls[2]
	if got := rangeText(cfg, mmap.Range); got != `"mmap"` || mmap.Range.Start.Line != 3 {
		t.Errorf("mmap range covers %q on line %d", got, mmap.Range.Start.Line)
	}
}

func refsString(refs []SyscallRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.Name + "/" + r.Set
	}
	return strings.Join(parts, " ")
}

func TestUnitNames(t *testing.T) {
	valid := []string{"metrics.service", "m@.service", "m@1.service", "dbus-org.freedesktop.login1.service",
		"a:b_c\\x2d.service", strings.Repeat("a", 247) + ".service"}
	for _, n := range valid {
		if p := serviceUnitProblem(n); p != "" {
			t.Errorf("%q: %s", n, p)
		}
	}
	invalid := []string{"", ".service", "@x.service", "a/b.service", "a..service", "metrics", "m.socket", "m.srvice",
		"m ь.service", strings.Repeat("a", 248) + ".service"}
	for _, n := range invalid {
		if p := serviceUnitProblem(n); p == "" {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestSocketAddresses(t *testing.T) {
	valid := []string{"7999", "0.0.0.0:7999", "[::]:80", "[fe80::1%eth0]:80", "/run/m.sock", "@m", "vsock:2:1234", "10.0.0.1%eth0:80"}
	for _, a := range valid {
		if p := socketProblem(a, true); p != "" {
			t.Errorf("%q: %s", a, p)
		}
	}
	invalid := []string{"", "0", "70000", "host:80", "::1:80", "1.2.3.4", "1.2.3.4:x", "@", "/" + strings.Repeat("a", 120)}
	for _, a := range invalid {
		if p := socketProblem(a, true); p == "" {
			t.Errorf("%q accepted", a)
		}
	}
	if p := socketProblem("127.0.0.1:80", false); p == "" {
		t.Errorf("an inet address accepted for a sequential packet socket")
	}
}
