package main

import (
	"errors"
	"os"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestMain lets the test binary be the in-kernel timing's child.
func TestMain(m *testing.M) {
	if isChild() {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// tinyPolicy is a policy with every kind of condition the adapters
// translate: alternatives, a masked equality, a conjunction of != (a
// negated alternative), a range, and an errno action beside allows.
func tinyPolicy(a *arch.Arch) *policy.Filter {
	nr := func(name string) uint32 {
		n, ok := a.Syscall(name)
		if !ok {
			panic(name + " on " + a.Name)
		}
		return uint32(n)
	}
	all := ^uint64(0)
	cmp := func(arg int, mask uint64, op policy.Op, v uint64) policy.Cmp {
		return policy.Cmp{Arg: arg, Mask: mask, Op: op, Value: v}
	}
	rule := func(name string, when policy.Expr, act policy.Action) policy.Rule {
		return policy.Rule{Name: name, Syscall: name, Nr: nr(name), When: when, Action: act}
	}
	return &policy.Filter{
		Service: "tiny", Arch: a.Name, AuditArch: a.Audit, Order: a.Order, X32: a.X32,
		Default: policy.ActKillProcess,
		Rules: []policy.Rule{
			rule("read", policy.Const(true), policy.ActAllow),
			rule("write", policy.Or{cmp(0, all, policy.EQ, 1), cmp(0, all, policy.EQ, 2)}, policy.ActAllow),
			rule("openat", cmp(2, 0x3, policy.EQ, 1), policy.Action{Kind: policy.Errno, Data: 13}),
			rule("close", policy.Not{X: policy.Or{cmp(0, all, policy.EQ, 5), cmp(0, all, policy.EQ, 7)}}, policy.ActAllow),
			rule("mmap", policy.And{cmp(1, all, policy.GE, 4096), cmp(1, all, policy.LT, 1<<20)}, policy.ActAllow),
			rule("getpid", policy.Const(true), policy.ActAllow),
		},
	}
}

// TestCompilersDecideAsThePolicy: a tiny policy compiled by fencer and by
// libseccomp at both levels decides as the policy on every input of
// progstats and on x32 numbers and a foreign architecture, on x86_64 and
// aarch64.
func TestCompilersDecideAsThePolicy(t *testing.T) {
	for _, a := range []*arch.Arch{arch.X86_64, arch.AArch64} {
		f := tinyPolicy(a)
		for _, c := range []compiler{fencerCompiler{}, libseccomp{optimize: 1}, libseccomp{optimize: 2}} {
			r := measureOne(c, benchPolicy{name: "tiny", filter: f})
			if r.err != nil {
				t.Fatalf("%s on %s: %v", c.name(), a.Name, r.err)
			}
			if m := r.mism; m.Wrong+m.HighHalf+m.Arch != 0 {
				t.Errorf("%s on %s: %+v", c.name(), a.Name, m)
			}
			if r.fig.Insns == 0 || r.fig.MaxExecuted == 0 || len(r.fig.PerNr) == 0 {
				t.Errorf("%s on %s: figures %+v", c.name(), a.Name, r.fig)
			}
		}
	}
}

// TestLibseccompRange: a range of one argument, which libseccomp cannot
// say in one rule, becomes one rule per aligned block of it.
func TestLibseccompRange(t *testing.T) {
	f := tinyPolicy(arch.X86_64)
	f.Rules = f.Rules[4:5] // mmap when 4096 <= arg1 < 1 << 20
	prog, err := libseccomp{optimize: 2}.compile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint64{0, 4095, 4096, 4097, 1<<20 - 1, 1 << 20, 1<<32 + 4096} {
		d := bpf.MakeData(9, f.AuditArch, 0, [6]uint64{0, v}, f.Order)
		res, err := bpf.Run(prog, d[:], f.Order, bpf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := f.Decide(policy.Data{Nr: 9, Arch: f.AuditArch, Args: [6]uint64{0, v}})
		if got := policy.ActionFromRet(res.Ret); got != want {
			t.Errorf("mmap with arg1 %#x: %s, the policy %s", v, got, want)
		}
	}
}

// TestGoSeccomp: go-seccomp-bpf decides as the policy where its program
// has one conditional syscall, last; with several, v1.6.0 compares a
// loaded argument as the next syscall's number, and the bench counts the
// wrong verdicts. Its x32 answers differ by design (ENOSYS) and are
// counted apart.
func TestGoSeccomp(t *testing.T) {
	for _, a := range []*arch.Arch{arch.X86_64, arch.AArch64} {
		f := tinyPolicy(a)
		one := *f
		one.Rules = []policy.Rule{f.Rules[0], f.Rules[5], f.Rules[1]}
		r := measureOne(goSeccomp{}, benchPolicy{name: "one", filter: &one})
		if r.err != nil || r.mism.Wrong+r.mism.HighHalf != 0 || (r.mism.Arch == 0) != (a != arch.X86_64) {
			t.Errorf("one conditional syscall on %s: %v, %+v", a.Name, r.err, r.mism)
		}
		// On x86_64 the arguments sampled include the next syscalls'
		// numbers (read is 0, write 1).
		r = measureOne(goSeccomp{}, benchPolicy{name: "tiny", filter: f})
		if r.err != nil || (r.mism.Wrong == 0) != (a != arch.X86_64) {
			t.Errorf("several conditional syscalls on %s: %v, %+v: the bug of v1.6.0 went unnoticed", a.Name, r.err, r.mism)
		}
	}
}

// TestFiredancerGenerator: the generator's programs of the corpus's
// policies decide as their fencer configurations, on both architectures,
// and it has no program of another policy.
func TestFiredancerGenerator(t *testing.T) {
	gen, err := newFiredancerGenerator(firedancerCorpus(".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*arch.Arch{arch.X86_64, arch.AArch64} {
		fd, errs := firedancerPolicies("firedancer", a)
		if len(errs) > 0 || len(fd) < 40 {
			t.Fatalf("%s: %d policies, %v", a.Name, len(fd), errs)
		}
		for _, p := range fd {
			r := measureOne(gen, p)
			if r.err != nil || r.mism.Wrong != 0 {
				t.Errorf("%s on %s: %v, %+v", p.name, a.Name, r.err, r.mism)
			}
		}
		if _, err := gen.compile(tinyPolicy(a)); !errors.Is(err, errNotApplicable) {
			t.Errorf("a policy not in the corpus: %v", err)
		}
	}
}
