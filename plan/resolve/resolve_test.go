package resolve

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/cond"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
)

func resolveOn(t *testing.T, src, archName string) (*policy.Filter, hcl.Diagnostics) {
	t.Helper()
	cfg := configtest.Parse(t, src)
	a, ok := arch.Lookup(archName)
	if !ok {
		t.Fatalf("no arch %s", archName)
	}
	return Policy(cfg.Services[0], a)
}

func onlyCmp(t *testing.T, f *policy.Filter) policy.Cmp {
	t.Helper()
	if len(f.Rules) != 1 {
		t.Fatalf("want one rule, got %d", len(f.Rules))
	}
	c, ok := f.Rules[0].When.(policy.Cmp)
	if !ok {
		t.Fatalf("want a comparison, got %v", f.Rules[0].When)
	}
	return c
}

func TestResolveWidths(t *testing.T) {
	for _, c := range []struct {
		name, rule, arch string
		want             policy.Cmp
	}{
		{"fd is 32 bits", `arg0 == fd.log`, "x86_64", policy.Cmp{Arg: 0, Mask: 0xffffffff, Op: policy.EQ, Value: 1}},
		{"-1 on a 32-bit arg", `arg0 == -1`, "x86_64", policy.Cmp{Arg: 0, Mask: 0xffffffff, Op: policy.EQ, Value: 0xffffffff}},
		{"count is 64 bits", `arg2 > 4096`, "x86_64", policy.Cmp{Arg: 2, Mask: ^uint64(0), Op: policy.GT, Value: 4096}},
		{"-1 on a 64-bit arg", `arg2 == -1`, "aarch64", policy.Cmp{Arg: 2, Mask: ^uint64(0), Op: policy.EQ, Value: ^uint64(0)}},
		{"everything is 32 bits on arm", `arg2 == -1`, "arm", policy.Cmp{Arg: 2, Mask: 0xffffffff, Op: policy.EQ, Value: 0xffffffff}},
		{"masked narrows the width", `masked(arg2, 4095) != 0`, "x86_64", policy.Cmp{Arg: 2, Mask: 4095, Op: policy.NE, Value: 0}},
		{"written backwards", `4096 < arg2`, "x86_64", policy.Cmp{Arg: 2, Mask: ^uint64(0), Op: policy.GT, Value: 4096}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, diags := resolveOn(t, configtest.Service(`rule "r" {
    syscalls = ["write"]
    when = `+c.rule+`
  }`), c.arch)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := onlyCmp(t, f); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestResolveConstantsPerArch(t *testing.T) {
	src := configtest.Service(`rule "r" {
    syscalls = ["openat"]
    when = arg0 == AT_FDCWD && has_bits(arg2, O_DIRECTORY)
  }`)
	for archName, dir := range map[string]uint64{"x86_64": 0x10000, "aarch64": 0x4000} {
		f, diags := resolveOn(t, src, archName)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		and := f.Rules[0].When.(policy.And)
		// AT_FDCWD is -100, as the 32-bit fd argument reads it.
		if got := and[0].(policy.Cmp).Value; got != 0xffffff9c {
			t.Errorf("%s: AT_FDCWD resolves to %#x", archName, got)
		}
		if got := and[1].(policy.Cmp); got.Mask != dir || got.Value != dir {
			t.Errorf("%s: has_bits(O_DIRECTORY) resolves to %v", archName, got)
		}
	}
}

func TestResolveArchRules(t *testing.T) {
	src := configtest.Service(`rule "wait" {
    syscalls = ["poll"]
    arch = ["x86_64"]
  }
  rule "wait_arm" {
    syscalls = ["ppoll"]
    arch = ["aarch64"]
  }`)
	for archName, want := range map[string]string{"x86_64": "poll", "aarch64": "ppoll", "riscv64": ""} {
		f, diags := resolveOn(t, src, archName)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var got string
		for _, r := range f.Rules {
			got += r.Syscall
		}
		if got != want {
			t.Errorf("%s: rules for %q, want %q", archName, got, want)
		}
	}
}

func TestResolveDiagnostics(t *testing.T) {
	for _, c := range []struct {
		name, rules, arch string
		summary, detail   string
		line, col         int
	}{
		{"missing on arch with replacement", `rule "r" {
    syscalls = ["poll"]
  }`, "aarch64", `Syscall "poll" does not exist on aarch64`, `use "ppoll" instead`, 11, 17},
		{"unknown syscall", `rule "r" {
    syscalls = ["wirte"]
  }`, "x86_64", "Unknown syscall", `Did you mean "write"?`, 11, 17},
		{"unknown constant", `rule "r" {
    syscalls = ["accept4"]
    when = arg3 == SOCK_CLOEXC
  }`, "x86_64", "Unknown constant", "Did you mean SOCK_CLOEXEC?", 12, 20},
		{"value wider than a 32-bit argument", `rule "r" {
    syscalls = ["write"]
    when = arg0 == 4294967296
  }`, "x86_64", "Value wider than the argument", "arg0 of write is 32 bits wide", 12, 20},
		{"argument the syscall lacks", `rule "r" {
    syscalls = ["close"]
    when = arg3 == 0
  }`, "x86_64", "No such argument", "close takes 1 argument", 12, 12},
		{"16-bit mode", `rule "r" {
    syscalls = ["fchmod"]
    when = arg1 == 65536
  }`, "x86_64", "Value wider than the argument", "16 bits wide", 12, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, diags := resolveOn(t, configtest.Service(c.rules), c.arch)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			d := diags[0]
			if d.Summary != c.summary || !strings.Contains(d.Detail, c.detail) {
				t.Errorf("got %q: %q", d.Summary, d.Detail)
			}
			if d.Subject == nil || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
				t.Errorf("subject %v, want line %d col %d", d.Subject, c.line, c.col)
			}
		})
	}
}

func TestResolveWarnsOnUnfilteredSyscalls(t *testing.T) {
	_, diags := resolveOn(t, configtest.Service(`rule "r" {
    syscalls = ["uprobe"]
    action = kill_process
  }`), "x86_64")
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning ||
		!strings.Contains(diags[0].Summary, "does not filter uprobe") {
		t.Fatalf("diagnostics: %v", diags)
	}
}

func TestResolveCloneOrder(t *testing.T) {
	flags := `rule "no_threads" {
    syscalls = ["clone"]
    when     = has_bits(arg0, CLONE_THREAD)
    action   = errno(EPERM)
    ARCH
  }`
	// Without an arch list the rule would test the stack pointer on s390x.
	_, diags := resolveOn(t, configtest.Service(strings.Replace(flags, "ARCH", "", 1)), "x86_64")
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "flags on x86_64") || !strings.Contains(diags[0].Detail, "newsp on s390x") {
		t.Fatalf("diagnostics: %v", diags)
	}
	// Narrowed to architectures that agree, it is fine.
	f, diags := resolveOn(t, configtest.Service(strings.Replace(flags, "ARCH", `arch = ["x86_64", "aarch64"]`, 1)), "aarch64")
	if diags.HasErrors() || len(f.Rules) != 1 {
		t.Fatalf("diagnostics: %v", diags)
	}
	// tls and child_tid swap between x86_64 and aarch64.
	_, diags = resolveOn(t, configtest.Service(`rule "tls" {
    syscalls = ["clone"]
    when     = arg4 == 0
    arch     = ["x86_64", "aarch64"]
  }`), "x86_64")
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "tls on x86_64") {
		t.Fatalf("diagnostics: %v", diags)
	}
}

func TestResolveWarnsOnUnknownWidth(t *testing.T) {
	src := configtest.Service(`rule "r" {
    syscalls = ["ioctl"]
    when     = arg1 == 21505 && arg2 == 1024
    action   = errno(EPERM)
  }`)
	_, diags := resolveOn(t, src, "x86_64")
	if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Argument width unknown" {
		t.Fatalf("diagnostics: %v", diags)
	}
	// masked() says which bits count: no warning.
	_, diags = resolveOn(t, strings.Replace(src, "arg2 == 1024", "masked(arg2, 4294967295) == 1024", 1), "x86_64")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
}

func TestResolveRefusesSplitArguments(t *testing.T) {
	src := configtest.Service(`rule "r" {
    syscalls = ["pread64"]
    when     = arg3 == 0
  }`)
	for _, a := range []string{"arm", "i386"} {
		_, diags := resolveOn(t, src, a)
		if !diags.HasErrors() || diags[0].Summary != "Arguments split across registers" {
			t.Errorf("%s: diagnostics %v", a, diags)
		}
	}
	if _, diags := resolveOn(t, src, "x86_64"); diags.HasErrors() {
		t.Errorf("x86_64: %v", diags)
	}
}

func TestResolveWarnsOnDecidedComparisons(t *testing.T) {
	for _, when := range []string{"masked(arg1, 255) == 256", "arg1 >= 0", "masked(arg1, 15) > 15",
		// A bound beyond the mask: every masked value is below it.
		"masked(arg1, 15) < 16", "masked(arg1, 15) >= 16"} {
		_, diags := resolveOn(t, configtest.Service(`rule "r" {
    syscalls = ["write"]
    when     = `+when+`
  }`), "x86_64")
		if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Comparison decided by its mask" {
			t.Errorf("%s: %v", when, diags)
		}
	}
	_, diags := resolveOn(t, configtest.Service(`rule "r" {
    syscalls = ["write"]
    when     = masked(arg1, 255) == 7
  }`), "x86_64")
	if len(diags) != 0 {
		t.Errorf("a real comparison warns: %v", diags)
	}
}

// TestDecidedCoversSingleComparisons: Policy's "decided by its mask"
// warning fires exactly for the comparisons that are constant, which is
// why the constant lint leaves single comparisons to it.
func TestDecidedCoversSingleComparisons(t *testing.T) {
	a, _ := arch.Lookup("x86_64")
	r := rand.New(rand.NewSource(7))
	pool := []uint64{0, 1, 2, 0xf, 0x10, 0xff, 0x100, 0xffffffff, 0x100000000, ^uint64(0), ^uint64(0) - 1}
	pick := func() uint64 {
		v := pool[r.Intn(len(pool))]
		if r.Intn(4) == 0 {
			v = r.Uint64() >> r.Intn(64)
		}
		return v
	}
	for range 20000 {
		c := policy.Cmp{Arg: r.Intn(6), Mask: pick(), Op: policy.Op(r.Intn(6)), Value: pick()}
		res := resolver{arch: a}
		res.decided(c, hcl.Range{})
		m := cond.New(0)
		ref, err := m.Expr(c)
		if err != nil {
			t.Fatal(err)
		}
		constant := ref == cond.True || ref == cond.False
		if warned := len(res.diags) == 1; warned != constant {
			t.Fatalf("%v: decided warns %v, constant %v", c, warned, constant)
		}
		if constant && !strings.Contains(res.diags[0].Detail, fmt.Sprintf("always %v", ref == cond.True)) {
			t.Fatalf("%v: %s", c, res.diags[0].Detail)
		}
	}
}
