package resolve

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestParametricPolicy resolves fd comparisons as parameters: in ==, in a
// contains list next to constants, and on a 64-bit argument, each with the
// fd's number as its value; CompileParametric's program, filled with the
// configured numbers, decides as the policy does.
func TestParametricPolicy(t *testing.T) {
	cfg := configtest.Parse(t, configtest.Service(`  rule "w" {
    syscalls = ["write"]
    when     = arg0 == fd.log || arg0 == 2
  }
  rule "io" {
    syscalls = ["read", "close"]
    when     = !contains([2, fd.log, fd.sock], arg0)
  }
  rule "seek" {
    syscalls = ["lseek"]
    when     = arg1 == fd.sock
  }
`))
	svc := cfg.Services[0]
	f, diags := ParametricPolicy(svc, arch.X86_64)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string][]uint64{}
	for _, r := range f.Rules {
		for _, c := range policy.Comparisons(r.When) {
			if c.Param != "" {
				got[c.Param] = append(got[c.Param], c.Value)
			}
		}
	}
	if len(got["log"]) != 3 || got["log"][0] != 1 || len(got["sock"]) != 3 || got["sock"][0] != 3 {
		t.Errorf("parameters and their values: %v", got)
	}
	plain, _ := Policy(svc, arch.X86_64)
	for _, r := range plain.Rules {
		for _, c := range policy.Comparisons(r.When) {
			if c.Param != "" {
				t.Errorf("Policy leaves %v open", c)
			}
		}
	}
	c, diags := CompileParametric(svc, arch.X86_64)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ordinary, _ := Compile(svc, arch.X86_64)
	if len(c.Program) == len(ordinary.Program) {
		t.Errorf("the parametric program has as many instructions as the ordinary one, %d: fds 1..3 should be a range in the latter", len(c.Program))
	}
	if c.Parametric == nil || len(c.Parametric.Params) != 2 {
		t.Fatalf("Parametric: %+v", c.Parametric)
	}
}

// TestParametricRefusesFdInMask refuses an fd whose number would change
// what a condition is rather than what it compares with.
func TestParametricRefusesFdInMask(t *testing.T) {
	for _, when := range []string{
		"has_bits(arg0, fd.log)",
		"masked(arg0, fd.log) == 1",
		"arg0 == bitor(fd.log, 4)",
		"contains([bitor(fd.sock, 1)], arg0)",
	} {
		cfg := configtest.Parse(t, configtest.Service(`  rule "w" {
    syscalls = ["write"]
    when     = `+when+`
  }
`))
		if _, diags := Policy(cfg.Services[0], arch.X86_64); diags.HasErrors() {
			t.Errorf("%s: Policy refuses it: %v", when, diags)
		}
		_, diags := ParametricPolicy(cfg.Services[0], arch.X86_64)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "fd.") || diags[0].Subject == nil {
			t.Errorf("%s: %v", when, diags)
		}
	}
}
