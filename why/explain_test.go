package why

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// testPolicy is a service with every kind of verdict; line numbers
// matter to the tests (the file starts at line 1 with "service").
const testPolicy = `service "svc" {
  unit           = "svc.service"
  default_action = kill_process

  fd "logfile" {
    stdout = "append:/var/log/svc.log"
  }

  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.logfile
  }

  rule "no_ptrace" {
    syscalls = ["ptrace"]
    action   = kill_process
  }

  rule "ro_open" {
    syscalls = ["openat"]
    when     = !has_bits(arg2, O_WRONLY)
  }

  rule "deny_write_open" {
    syscalls = ["openat"]
    when     = has_bits(arg2, O_WRONLY)
    action   = errno(EACCES)
  }

  rule "big_reads" {
    syscalls = ["read"]
    when     = arg2 > 65536
    action   = kill_process
  }

  rule "reads" {
    syscalls = ["read"]
    when     = arg0 < 3
  }

  rule "startup" {
    syscalls = ["execve", "exit_group"]
  }

  rule "logged" {
    syscalls = ["getpid"]
    action   = log
  }
}
`

// loadPolicy loads src as a configuration and compiles its first service
// for a.
func loadPolicy(t testing.TB, src string, a *arch.Arch) (*Policy, *hclspec.Config) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "svc.fencer.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := hclspec.Load(dir, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c, diags := resolve.Compile(cfg.Services[0], a)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return &Policy{Compiled: c, Files: cfg.Files}, cfg
}

func nr(t testing.TB, a *arch.Arch, name string) int64 {
	t.Helper()
	n, ok := a.Syscall(name)
	if !ok {
		t.Fatalf("%s has no %s", a.Name, name)
	}
	return int64(n)
}

func args(v ...uint64) *[6]uint64 {
	var a [6]uint64
	copy(a[:], v)
	return &a
}

// has checks that the explanation's text has every one of want, in
// order, and returns it.
func has(t *testing.T, e *Explanation, want ...string) string {
	t.Helper()
	text := strings.Join(e.Lines, "\n")
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("explanation lacks %q (in order):\n%s", w, text)
			return text
		}
		rest = rest[i+len(w):]
	}
	return text
}

func TestExplain(t *testing.T) {
	a := arch.X86_64
	p, cfg := loadPolicy(t, testPolicy, a)
	file := filepath.Join(cfg.Dir, "svc.fencer.hcl")
	if _, ok := cfg.Files[file]; !ok {
		for name := range cfg.Files {
			file = name
		}
	}
	at := func(line string) string { return file + ":" + line }
	kill := policy.RetKillProcess

	t.Run("default, no arguments", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: kill})
		if e.Decided != ByDefault || e.Syscall.Name != "write" || e.Syscall.Arch != "x86_64" || e.Kernel.Name != "kill_process" {
			t.Errorf("%+v", e)
		}
		has(t, e, "decided by the default action kill_process ("+at("3")+")", "because no rule for write held",
			`rule "log_write" (`+at("9")+`) allows write only when arg0 == 2 || arg0 == fd.logfile (on x86_64: arg0 == 2 || arg0 == 1), so arg0 was neither 2 nor 1.`)
		if len(e.Rules) != 1 || e.Rules[0].Held != nil || e.Rules[0].When != "arg0 == 2 || arg0 == fd.logfile" || e.Rules[0].Resolved != "arg0 == 2 || arg0 == 1" {
			t.Errorf("rules %+v", e.Rules[0])
		}
	})
	t.Run("default, with arguments", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: kill, Args: args(5, 0x7ffd0000, 42)})
		if e.Decided != ByDefault || *e.Rules[0].Held {
			t.Errorf("%+v", e)
		}
		has(t, e, "decided by the default action kill_process", "no rule for write held with these arguments",
			`rule "log_write" (`+at("9")+`) gives allow when arg0 == 2 || arg0 == fd.logfile (on x86_64: arg0 == 2 || arg0 == 1): false for arg0 = 5.`)
	})
	t.Run("high bits of a 32-bit argument", func(t *testing.T) {
		// write(0x100000002, ...) writes to fd 2: the rule holds.
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: policy.RetAllow, Args: args(0x100000002)})
		if e.Decided != ByRule || e.Rule.Name != "log_write" {
			t.Fatalf("%+v", e)
		}
		has(t, e, "true for arg0 = 2 (the register holds 0x100000002; the filter compares its low 32 bits)")
	})
	t.Run("unconditional rule", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "ptrace"), Ret: kill})
		if e.Decided != ByRule || e.Rule.Name != "no_ptrace" {
			t.Fatalf("%+v", e)
		}
		has(t, e, `decided by rule "no_ptrace" (`+at("14")+`), which gives ptrace kill_process whatever its arguments.`)
	})
	t.Run("a deny rule", func(t *testing.T) {
		// The kernel logs errno only for filters that ask it to, but a
		// record from elsewhere must still read right.
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "openat"), Ret: policy.RetErrno | 13})
		if e.Decided != ByRule || e.Rule.Name != "deny_write_open" || e.Kernel.Name != "errno(13)" {
			t.Fatalf("%+v", e)
		}
		has(t, e, `decided by rule "deny_write_open"`, "gives openat errno(13) when has_bits(arg2, O_WRONLY) (on x86_64: (arg2 & 0x1) == 1): it held.")
	})
	t.Run("rule or default", func(t *testing.T) {
		// read: killed by big_reads when arg2 > 65536, or by the default
		// when neither rule held.
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "read"), Ret: kill})
		if e.Decided != ByRuleOrDefault || len(e.Candidates) != 1 || e.Candidates[0].Name != "big_reads" {
			t.Fatalf("%+v", e)
		}
		has(t, e, `decided by one of: rule "big_reads"`, "(when arg2 > 65536 (on x86_64: arg2 > 0x10000))", "the default action kill_process", "(when no rule held)")
		// With the arguments, which one it was.
		e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "read"), Ret: kill, Args: args(1, 0, 100000)})
		if e.Decided != ByRule || e.Rule.Name != "big_reads" {
			t.Fatalf("%+v", e)
		}
		has(t, e, `decided by rule "big_reads"`, "true for arg2 = 0x186a0 (100000).", `rule "reads"`, "true for arg0 = 1.")
		e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "read"), Ret: kill, Args: args(7, 0, 10)})
		if e.Decided != ByDefault {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("a rule that ranks above the action", func(t *testing.T) {
		// read allowed: big_reads (kill) did not hold, reads did.
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "read"), Ret: policy.RetAllow})
		if e.Decided != ByRule || e.Rule.Name != "reads" {
			t.Fatalf("%+v", e)
		}
		has(t, e, `rule "big_reads"`, "gives kill_process when arg2 > 65536 (on x86_64: arg2 > 0x10000), which did not hold: arg2 <= 0x10000.")
	})
	t.Run("log", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "getpid"), Ret: policy.RetLog})
		if e.Decided != ByRule || e.Rule.Name != "logged" || e.Kernel.Name != "log" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("no rule", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "mount"), Ret: kill})
		if e.Decided != ByDefault || len(e.Rules) != 0 {
			t.Fatalf("%+v", e)
		}
		has(t, e, "no rule names mount on x86_64, so the default decides it whatever its arguments")
	})
	t.Run("foreign architecture", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: arch.AuditI386, Nr: 4, Ret: kill})
		if e.Decided != ByForeignArch || e.Syscall.Arch != "i386" || e.Syscall.Name != "write" {
			t.Fatalf("%+v", e)
		}
		has(t, e, "the filter for x86_64 kills every call of another architecture (here i386)")
		e = p.Explain(Call{AuditArch: 0x12345678, Nr: 4, Ret: kill})
		if e.Decided != ByForeignArch || e.Syscall.Arch != "" {
			t.Fatalf("%+v", e)
		}
		has(t, e, "(here AUDIT_ARCH 0x12345678)")
	})
	t.Run("x32", func(t *testing.T) {
		e := p.Explain(Call{AuditArch: a.Audit, Nr: policy.X32Bit + 39, Ret: kill})
		if e.Decided != ByX32 || !e.Syscall.X32 || e.Syscall.Name != "getpid" {
			t.Fatalf("%+v", e)
		}
		if d := e.Syscall.describe(Call{Nr: policy.X32Bit + 39}); d != "x32 syscall 0x40000027 (getpid's number 39 with the x32 bit) on x86_64" {
			t.Errorf("describe: %q", d)
		}
	})
	t.Run("not the planned filter", func(t *testing.T) {
		// exit_group is allowed whatever its arguments: a kill is not
		// this filter's.
		e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "exit_group"), Ret: kill})
		if e.Decided != NotPlanned {
			t.Fatalf("%+v", e)
		}
		has(t, e, "not the planned filter: the kernel took kill_process, but the planned filter cannot give it", `rule "startup"`, "gives allow")
		e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: kill, Args: args(2)})
		if e.Decided != NotPlanned {
			t.Fatalf("%+v", e)
		}
		has(t, e, "the planned filter gives it allow")
		e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: 0x7fc00000})
		if e.Decided != NotPlanned || e.Kernel.Name != "user_notif" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("systemd's name filter", func(t *testing.T) {
		q := *p
		q.SystemdNames = []string{"read", "openat", "execve", "exit_group", "getpid"}
		e := q.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: kill, Args: args(2)})
		if e.Decided != BySystemd {
			t.Fatalf("%+v", e)
		}
		has(t, e, "decided by systemd's SystemCallFilter=", "does not name write")
	})
}

func TestFailedText(t *testing.T) {
	c := func(arg int, op policy.Op, v uint64) policy.Cmp {
		return policy.Cmp{Arg: arg, Mask: 0xffffffff, Op: op, Value: v}
	}
	for _, tc := range []struct {
		e    policy.Expr
		want string
	}{
		{policy.Or{c(0, policy.EQ, 2), c(0, policy.EQ, 1)}, "arg0 was neither 2 nor 1"},
		{policy.Or{c(0, policy.EQ, 2), c(0, policy.EQ, 1), c(0, policy.EQ, 3)}, "arg0 was none of 2, 1, 3"},
		{c(1, policy.EQ, 0x80800), "arg1 was not 0x80800"},
		{c(1, policy.NE, 7), "arg1 was 7"},
		{c(2, policy.GT, 0x10000), "arg2 <= 0x10000"},
		{policy.Not{X: policy.Or{c(0, policy.EQ, 2), c(0, policy.EQ, 1)}}, "arg0 was 2 or 1"},
		{policy.Not{X: policy.Or{c(0, policy.EQ, 2), c(0, policy.EQ, 1), c(0, policy.EQ, 3)}}, "arg0 was one of 2, 1, 3"},
		{policy.And{c(0, policy.EQ, 3), c(3, policy.EQ, 0x80800)}, "arg0 != 3 || arg3 != 0x80800"},
		{policy.Or{c(0, policy.EQ, 3), c(1, policy.EQ, 4)}, "arg0 != 3 && arg1 != 4"},
		{policy.Const(true), "the condition always holds: this filter cannot have decided so"},
		{policy.Cmp{Arg: 2, Mask: 0x3, Op: policy.EQ, Value: 1}, "(arg2 & 0x3) was not 1"},
	} {
		if got := failed(tc.e); got != tc.want {
			t.Errorf("failed(%s) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// TestExplainSystemd: with enforce = "systemd" systemd's name filter
// decides; a condition it cannot check is named as what denied the call.
func TestExplainSystemd(t *testing.T) {
	a := arch.X86_64
	src := strings.Replace(testPolicy, `unit           = "svc.service"`, `unit           = "svc.service"
  enforce        = "systemd"`, 1)
	// trap and kill_thread are not systemd's; neither is this file's
	// errno rule with a condition on openat, which is fine.
	p, cfg := loadPolicy(t, src, a)
	var file string
	for name := range cfg.Files {
		file = name
	}
	e := p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "write"), Ret: policy.RetKillProcess})
	if e.Decided != ByDefault {
		t.Fatalf("%+v", e)
	}
	has(t, e, `decided by the default action kill_process (`+file+`:4): with enforce = "systemd" systemd's SystemCallFilter= names whole syscalls and cannot check arguments, so:`,
		`rule "log_write" never applies: write gets kill_process whatever its arguments (a deny wins over a condition systemd cannot check) (`+file+`:10).`)
	// read: both rules' conditions are gone; the kill they make the
	// verdict is the default's.
	e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "read"), Ret: policy.RetKillProcess})
	has(t, e, `decided by the default action kill_process`, `rule "big_reads"'s condition is dropped: read gets kill_process`, `rule "reads" never applies`)
	// openat: the errno rule's condition is gone too, and the default
	// (which an allow with a condition no longer keeps away) ranks
	// above it.
	e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "openat"), Ret: policy.RetKillProcess})
	has(t, e, `decided by the default action kill_process`, `rule "ro_open" never applies`, `rule "deny_write_open" never applies`)
	// getpid: an unconditional rule is systemd's verdict as it is.
	e = p.Explain(Call{AuditArch: a.Audit, Nr: nr(t, a, "getpid"), Ret: policy.RetLog})
	if text := has(t, e, `decided by rule "logged"`); strings.Contains(text, "enforce") {
		t.Errorf("an unconditional rule is said to be narrowed:\n%s", text)
	}
}
