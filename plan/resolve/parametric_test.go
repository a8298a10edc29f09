package resolve

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
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
	if len(f.ExecOnce) != 0 {
		t.Errorf("the exported policy has the loader's exec-once gate: %v", f.ExecOnce)
	}
	plain, _ := Policy(svc, arch.X86_64)
	if len(plain.ExecOnce) == 0 {
		t.Errorf("the installed policy has no exec-once gate")
	}
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

// TestParametricRealPolicies compiles examples/metrics and the
// benchmark's Firedancer policies (49 of them compare with fds) with their
// fds left open, on every architecture each is planned for, fills each
// program with draws of fd numbers — equal to each other, 0, 2,
// 0xffffffff, the policy's constants — and compares its verdicts with
// those of the policy resolved with the same numbers.
func TestParametricRealPolicies(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	services, opened := 0, 0
	for _, dir := range []string{"../../examples/metrics", "../../bench/firedancer"} {
		cfg, diags := hclspec.Load(dir, hclspec.LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for _, svc := range cfg.Services {
			for _, a := range Arches(cfg, svc, nil) {
				c, diags := CompileParametric(svc, a)
				if diags.HasErrors() {
					t.Fatalf("%s on %s: %v", svc.Name, a.Name, diags)
				}
				for _, s := range c.Parametric.Slots {
					if s >= 0 {
						opened++
					}
				}
				checkFilled(t, r, c)
				services++
			}
		}
	}
	if services < 50 || opened < services {
		t.Errorf("%d services and architectures, %d comparisons with fds: the test proves little", services, opened)
	}
	t.Logf("%d services and architectures, %d comparisons with fds", services, opened)
}

// checkFilled is TestParametricRealPolicies on one compiled service.
func checkFilled(t *testing.T, r *rand.Rand, c *Compiled) {
	t.Helper()
	var consts []uint32
	for _, rule := range c.Filter.Rules {
		consts = append(consts, rule.Nr)
		for _, cmp := range policy.Comparisons(rule.When) {
			consts = append(consts, uint32(cmp.Value), uint32(cmp.Value>>32))
		}
	}
	pick := func() uint32 {
		switch r.Intn(5) {
		case 0:
			return []uint32{0, 2, 0xffffffff}[r.Intn(3)]
		case 1, 2:
			return consts[r.Intn(len(consts))] + uint32(r.Intn(3)) - 1
		}
		return uint32(r.Intn(10))
	}
	for range 20 {
		values := map[string]uint32{}
		var last uint32
		for _, fd := range c.Service.Fds {
			v := pick()
			if r.Intn(4) == 0 {
				v = last // two fds with one number
			}
			values[fd.Name], last = v, v
		}
		prog, err := c.Parametric.Fill(values)
		if err != nil {
			t.Fatal(err)
		}
		resolved := c.Filter.WithParams(values)
		vm, err := bpf.NewVM(prog, c.Arch.Order)
		if err != nil {
			t.Fatalf("%s on %s: %v", c.Service.Name, c.Arch.Name, err)
		}
		for range 200 {
			d := policy.Data{Arch: c.Arch.Audit, Nr: int32(resolved.Rules[r.Intn(len(resolved.Rules))].Nr)}
			if r.Intn(10) == 0 {
				d.Nr = int32(r.Intn(500))
			}
			for i := range d.Args {
				d.Args[i] = uint64(pick())
				if r.Intn(5) == 0 {
					d.Args[i] |= uint64(pick()) << 32
				}
			}
			data := bpf.MakeData(d.Nr, d.Arch, 0, d.Args, c.Arch.Order)
			got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
			if want := resolved.Decide(d); got != want {
				t.Fatalf("%s on %s, fds %v: nr %d args %#x: program says %v, policy %v", c.Service.Name, c.Arch.Name, values, d.Nr, d.Args, got, want)
			}
		}
	}
}
