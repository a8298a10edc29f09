package resolve

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
)

// execveVerdict is what the compiled program of c answers to execve with
// the given arguments.
func execveVerdict(t *testing.T, c *Compiled, args [6]uint64) policy.Action {
	t.Helper()
	nr, _ := c.Arch.Syscall("execve")
	vm, err := bpf.NewVM(c.Program, c.Arch.Order)
	if err != nil {
		t.Fatal(err)
	}
	d := bpf.MakeData(int32(nr), c.Arch.Audit, 0, args, c.Arch.Order)
	return policy.ActionFromRet(vm.Run(d[:], bpf.Options{}).Ret)
}

// TestExecOnceGate: execve gets exec_once, in the policy and in the
// program, on every architecture where no rule names it, when the loader
// starts the service and default_action does not allow it anyway.
func TestExecOnceGate(t *testing.T) {
	for _, tc := range []struct {
		name, settings, rules string
		gated                 map[string]bool // nil: every architecture
		want                  policy.Action   // where not gated, for execve(0, 0, 0)
	}{
		{name: "no rule names execve"},
		{name: "errno default", settings: "  default_action = errno(EPERM)"},
		{name: "execveat named, not execve", rules: `rule "x" {
    syscalls = ["execveat"]
    action   = errno(EACCES)
  }`},
		// No loader, no gate (and systemd, which execs the service under its
		// filter, needs execve allowed).
		{name: "enforce systemd", settings: `  enforce = "systemd"`, rules: `rule "x" {
    syscalls = ["execve"]
  }`, gated: map[string]bool{}, want: policy.ActAllow},
		{name: "log default", settings: "  default_action = log", gated: map[string]bool{}, want: policy.Action{Kind: policy.Log}},
		{name: "execve allowed", rules: `rule "x" {
    syscalls = ["execve"]
  }`, gated: map[string]bool{}, want: policy.ActAllow},
		{name: "execve allowed on two architectures", rules: `rule "x" {
    syscalls = ["execve"]
    arch     = ["aarch64", "s390x"]
  }`, gated: map[string]bool{"x86_64": true, "i386": true, "arm": true, "riscv64": true, "ppc64le": true}, want: policy.ActAllow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := configtest.ExecService(tc.settings, tc.rules)
			compiled, diags := CompileAll(configtest.Parse(t, src), nil)
			if diags.HasErrors() || len(compiled) != len(arch.All()) {
				t.Fatalf("%v\n%s", diags, src)
			}
			for _, c := range compiled {
				gated := tc.gated == nil || tc.gated[c.Arch.Name]
				nr, _ := c.Arch.Syscall("execve")
				d := policy.Data{Nr: int32(nr), Arch: c.Arch.Audit, Args: [6]uint64{0x7ffd1000, 0x7ffd2000, 0x7ffd3000}}
				want := tc.want
				if gated {
					want = policy.ActExecOnce
				}
				if got, which := c.Filter.Explain(d); got != want || (gated != (which == policy.ByExecOnce)) {
					t.Errorf("%s: the policy gives execve %v (by %d), want %v", c.Arch.Name, got, which, want)
				}
				if got := execveVerdict(t, c, d.Args); got != want {
					t.Errorf("%s: the program gives execve %v, want %v", c.Arch.Name, got, want)
				}
				if gated {
					// Only execve: execveat is a syscall like any other.
					at, _ := c.Arch.Syscall("execveat")
					if got := c.Filter.Decide(policy.Data{Nr: int32(at), Arch: c.Arch.Audit}); got.Kind == policy.ExecOnce {
						t.Errorf("%s: execveat gets %v", c.Arch.Name, got)
					}
				}
			}
		})
	}
}

// lintCase is a policy and the execve diagnostic validate must give.
type lintCase struct {
	name, rules string
	severity    hcl.DiagnosticSeverity // 0: no diagnostic
	summary     string
	line, col   int // where: the syscall in the rule's syscalls list
}

// TestExecOnceLints: validate finds, at the rule, a policy whose execve can
// never pass the loader (an error), or may not (a warning), and the rules
// that open a way around exec once.
func TestExecOnceLints(t *testing.T) {
	const never, may = "The loader can never exec the service", "The loader's execve may be refused"
	// The rules start on line 7 of execService's text; the syscall list
	// on the line after the rule's first, at column 17.
	for _, tc := range []lintCase{
		{"allowed", `rule "x" {
    syscalls = ["execve"]
  }`, 0, "", 0, 0},
		{"logged", `rule "x" {
    syscalls = ["execve"]
    action   = log
  }`, 0, "", 0, 0},
		{"killed", `rule "x" {
    syscalls = ["execve"]
    action   = kill_process
  }`, hcl.DiagError, never, 9, 17},
		{"failed, second in the list", `rule "x" {
    syscalls = ["read", "execve"]
    action   = errno(EPERM)
  }`, hcl.DiagError, never, 9, 25},
		{"trapped whatever the pointers", `rule "x" {
    syscalls = ["execve"]
    action   = trap
    when     = arg0 >= 0
  }`, hcl.DiagError, never, 9, 17},
		{"allowed only when a pointer is null", `rule "x" {
    syscalls = ["execve"]
    when     = arg0 == 0
  }`, hcl.DiagWarning, may, 9, 17},
		{"allowed, failed for one pointer", `rule "x" {
    syscalls = ["execve"]
  }
  rule "y" {
    syscalls = ["execve"]
    action   = errno(EACCES)
    when     = arg1 == 4096
  }`, hcl.DiagWarning, may, 12, 17},
		{"allowed under a condition that never holds", `rule "x" {
    syscalls = ["execve"]
    when     = masked(arg0, 0) == 1
  }`, hcl.DiagError, never, 9, 17},
		{"allowed under a condition that always holds", `rule "x" {
    syscalls = ["execve"]
    when     = arg2 <= -1 || arg0 == 1
  }`, 0, "", 0, 0},
		{"failed under a condition that never holds", `rule "x" {
    syscalls = ["execve"]
  }
  rule "y" {
    syscalls = ["execve"]
    action   = errno(EACCES)
    when     = !(arg1 >= 0)
  }`, 0, "", 0, 0},
		{"execveat allowed past the gate", `rule "x" {
    syscalls = ["execveat"]
    when     = arg4 == AT_EMPTY_PATH
  }`, hcl.DiagWarning, "execveat runs programs past exec once", 9, 17},
		{"execveat refused", `rule "x" {
    syscalls = ["execveat"]
    action   = errno(EPERM)
  }`, 0, "", 0, 0},
		{"seccomp allowed", `rule "x" {
    syscalls = ["seccomp"]
  }`, hcl.DiagWarning, "A filter of the service's own can answer its execve", 9, 17},
		{"seccomp allowed for one flag with junk above", `rule "x" {
    syscalls = ["seccomp"]
    when     = arg1 == SECCOMP_FILTER_FLAG_NEW_LISTENER
  }`, hcl.DiagWarning, "A filter of the service's own can answer its execve", 9, 17},
		{"seccomp allowed without listeners", `rule "x" {
    syscalls = ["seccomp"]
    when     = !has_bits(arg1, SECCOMP_FILTER_FLAG_NEW_LISTENER)
  }`, 0, "", 0, 0},
		{"seccomp allowed for other ops only", `rule "x" {
    syscalls = ["seccomp"]
    when     = arg0 != SECCOMP_SET_MODE_FILTER
  }`, 0, "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := configtest.ExecService("", tc.rules)
			_, diags := CompileAll(configtest.Parse(t, src), nil)
			var got hcl.Diagnostics
			for _, d := range diags {
				if strings.Contains(d.Summary+d.Detail, "exec") && d.Summary != "Comparison decided by its mask" {
					got = append(got, d)
				}
			}
			if tc.severity == 0 {
				if len(got) != 0 {
					t.Fatalf("diagnostics: %v\n%s", got, src)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("diagnostics %v, want one %q\n%s", got, tc.summary, src)
			}
			d := got[0]
			if d.Severity != tc.severity || d.Summary != tc.summary {
				t.Errorf("%v %q, want %v %q", d.Severity, d.Summary, tc.severity, tc.summary)
			}
			if d.Subject == nil || d.Subject.Filename != "main.fencer.hcl" || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
				t.Errorf("at %v, want main.fencer.hcl:%d,%d\n%s", d.Subject, tc.line, tc.col, src)
			}
			// One diagnostic for all seven architectures.
			if !strings.Contains(d.Detail, "x86_64") || !strings.Contains(d.Detail, "s390x") {
				t.Errorf("detail names not every architecture: %s", d.Detail)
			}
			t.Logf("%s", d.Detail)
		})
	}
}

// TestExecOnceLintOnlyWhereTheLoaderRuns: with enforce = "systemd" no
// loader execs the service: the loader's lints say nothing (systemd's own
// need for execve is another error's).
func TestExecOnceLintOnlyWhereTheLoaderRuns(t *testing.T) {
	for _, rules := range []string{`rule "x" {
    syscalls = ["execve"]
    action   = kill_process
  }`, `rule "x" {
    syscalls = ["execve", "seccomp", "execveat"]
  }`} {
		src := configtest.ExecService(`  enforce = "systemd"`, rules)
		_, diags := CompileAll(configtest.Parse(t, src), nil)
		for _, d := range diags {
			switch d.Summary {
			case "The loader can never exec the service", "The loader's execve may be refused",
				"execveat runs programs past exec once", "A filter of the service's own can answer its execve":
				t.Errorf("%v", d)
			}
		}
	}
}
