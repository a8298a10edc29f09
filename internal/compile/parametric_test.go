package compile

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/kernel"
	"github.com/fencer-dev/fencer/internal/policy"
)

var paramNames = []string{"logfile", "socket", "pipe"}

// withRandParams turns comparisons of f into comparisons with parameters,
// as resolving a policy with its fd numbers left open does, and adds rules
// of the shape fd conditions take (`arg0 == fd.x || arg0 == 2`,
// `!contains([2, fd.x, fd.y], arg0)`, with constants next to the
// parameters' values so that the ordinary compile would check a range).
func withRandParams(r *rand.Rand, f *policy.Filter, a testArch) *policy.Filter {
	g := f.MapCmps(func(c policy.Cmp) policy.Cmp {
		if uint32(c.Mask) != 0 && r.Intn(3) == 0 {
			c.Param = paramNames[r.Intn(len(paramNames))]
			c.Value = uint64(r.Intn(6))
		}
		return c
	})
	for i, n := 0, r.Intn(4); i < n; i++ {
		mask := uint64(0xffffffff)
		if a.bits == 64 && r.Intn(4) == 0 {
			mask = ^uint64(0)
		}
		op := policy.EQ
		if r.Intn(2) == 0 {
			op = policy.NE
		}
		var xs []policy.Expr
		for k, m := 0, 2+r.Intn(4); k < m; k++ {
			c := policy.Cmp{Arg: r.Intn(2), Mask: mask, Op: op, Value: uint64(r.Intn(5))}
			if r.Intn(2) == 0 {
				c.Param = paramNames[r.Intn(len(paramNames))]
			}
			xs = append(xs, c)
		}
		var when policy.Expr = policy.Or(xs)
		if op == policy.NE {
			when = policy.And(xs)
		}
		nr := uint32(r.Intn(450))
		if len(g.Rules) > 0 && r.Intn(2) == 0 {
			nr = g.Rules[r.Intn(len(g.Rules))].Nr
		}
		g.Rules = append(g.Rules, policy.Rule{Name: "fds", Nr: nr, When: when, Action: randAction(r)})
	}
	return g
}

// randParamValues draws values for the parameters that the program must
// be right for whatever the compiler assumed: 0, 2, 0xffffffff, values
// equal to each other, to the policy's constants (their low words) and
// their neighbours, and small fd numbers.
func randParamValues(r *rand.Rand, consts []uint64) map[string]uint32 {
	out := map[string]uint32{}
	for _, n := range paramNames {
		var v uint32
		switch r.Intn(8) {
		case 0:
			v = 0
		case 1:
			v = 2
		case 2:
			v = 0xffffffff
		case 3:
			if len(out) > 0 {
				for _, w := range out {
					v = w
					break
				}
			}
		case 4, 5:
			if len(consts) > 0 {
				v = uint32(consts[r.Intn(len(consts))]) + uint32(r.Intn(3)) - 1
			}
		default:
			v = uint32(r.Intn(8))
		}
		out[n] = v
	}
	return out
}

// checkParametric compiles f with its parameters open and, for several
// draws of their values, compares the filled program's verdicts with
// those of the policy resolved with the same values, on inputs derived
// from that policy; the program must also be the kernel's to take.
func checkParametric(t testing.TB, r *rand.Rand, f *policy.Filter, values, inputs int) (*Parametric, int) {
	t.Helper()
	pp, _, err := CompileParametric(f)
	if err != nil {
		var long *TooLongError
		if errors.As(err, &long) {
			return nil, 0
		}
		t.Fatalf("compile: %v\npolicy: %s", err, describe(f))
	}
	opened := 0
	for _, s := range pp.Slots {
		if s >= 0 {
			opened++
		}
	}
	consts := filterConstants(f)
	for range values {
		vals := randParamValues(r, consts)
		resolved := f.WithParams(vals)
		prog, err := pp.Fill(vals)
		if err != nil {
			t.Fatal(err)
		}
		var ins []policy.Data
		rc := filterConstants(resolved)
		for range inputs {
			ins = append(ins, randData(r, resolved, rc))
		}
		checkProgram(t, prog, resolved, ins, fmt.Sprintf("values %v", vals))
	}
	return pp, opened
}

// checkProgram is check for a program compiled already.
func checkProgram(t testing.TB, prog bpf.Program, f *policy.Filter, inputs []policy.Data, what string) {
	t.Helper()
	vm, err := bpf.NewVM(prog, f.Order)
	if err != nil {
		t.Fatalf("%s: the kernel would refuse the program: %v\npolicy: %s\n%s", what, err, describe(f), bpf.Disassemble(prog, f.Order, nil))
	}
	for _, d := range inputs {
		data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, f.Order)
		got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		if want := f.Decide(d); got != want {
			t.Fatalf("%s: input nr=%d arch=%#x args=%#x: program says %v, policy says %v\npolicy: %s\n%s",
				what, d.Nr, d.Arch, d.Args, got, want, describe(f), bpf.Disassemble(prog, f.Order, nil))
		}
	}
}

// TestParametricDifferential compiles random policies with parameters
// once, and checks the program, filled with many draws of values, against
// the policy resolved with each, on every architecture.
func TestParametricDifferential(t *testing.T) {
	eachArch(t, 21, func(t *testing.T, a testArch, r *rand.Rand) {
		policies, opened := 0, 0
		for policies < 1500 {
			f := withRandParams(r, randFilter(r, a), a)
			_, n := checkParametric(t, r, f, 12, 40)
			opened += n
			policies++
		}
		if opened < policies {
			t.Errorf("%d policies left only %d comparisons open: the test proves little", policies, opened)
		}
		t.Logf("%d policies, %d comparisons with parameters in their programs", policies, opened)
	})
}

// TestParametricLarge is TestParametricDifferential on programs whose
// jumps go beyond the 255 instructions a conditional jump reaches.
func TestParametricLarge(t *testing.T) {
	eachArch(t, 22, func(t *testing.T, a testArch, r *rand.Rand) {
		far := 0
		for i := 0; i < 6; i++ {
			f := randFilter(r, a)
			f.Rules = nil
			for j := 0; j < 150+r.Intn(150); j++ {
				f.Rules = append(f.Rules, policy.Rule{Name: "big", Nr: uint32(r.Intn(400)), When: randExpr(r, a, 4), Action: randAction(r)})
			}
			f = withRandParams(r, f, a)
			pp, _ := checkParametric(t, r, f, 6, 400)
			if pp == nil {
				continue
			}
			if len(pp.Program) > bpf.MaxInsns {
				t.Fatalf("a program of %d instructions", len(pp.Program))
			}
			_, st, _ := CompileParametric(f)
			far += farJumps(st.Unoptimized)
		}
		if far == 0 {
			t.Errorf("no jump reached beyond 255 instructions: the test proves nothing about long jumps")
		}
	})
}

// TestParametricShape checks what makes the program independent of the
// values: the ordinary compile checks fds 1 to 3 as a range, and
// threads the known value of a word, where the parametric one compares
// with each parameter; two parameters stay two comparisons even when
// their values are equal, and Compile of a policy with parameters is the
// ordinary compile of its values.
func TestParametricShape(t *testing.T) {
	a := testArches[0]
	p := func(name string, v uint64) policy.Cmp {
		return policy.Cmp{Arg: 0, Mask: 0xffffffff, Op: policy.NE, Value: v, Param: name}
	}
	f := &policy.Filter{Service: "s", Arch: a.name, AuditArch: a.audit, Order: a.order, X32: true, Default: policy.ActKillProcess,
		Rules: []policy.Rule{
			{Name: "io", Nr: 0, Action: policy.ActAllow, When: policy.And{
				policy.Cmp{Arg: 0, Mask: 0xffffffff, Op: policy.NE, Value: 2}, p("logfile", 1), p("socket", 3)}},
			{Name: "dup", Nr: 1, Action: policy.ActAllow, When: policy.And{p("logfile", 1), p("pipe", 1)}},
		}}
	pp, _, err := CompileParametric(f)
	if err != nil {
		t.Fatal(err)
	}
	bySlot := map[string]int{}
	for _, s := range pp.Slots {
		if s >= 0 {
			bySlot[pp.Params[s]]++
		}
	}
	if bySlot["logfile"] != 2 || bySlot["socket"] != 1 || bySlot["pipe"] != 1 {
		t.Errorf("comparisons with parameters: %v, want logfile twice, socket and pipe once\n%s", bySlot, bpf.Disassemble(pp.Program, a.order, nil))
	}
	plain, _, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := Compile(withoutParams(f))
	if !slices.Equal(plain, want) {
		t.Errorf("Compile of a policy with parameters differs from that of its values")
	}
	if len(plain) >= len(pp.Program) {
		t.Errorf("the ordinary compile (%d instructions) is no shorter than the parametric one (%d): it should check 1..3 as a range and `pipe` as known", len(plain), len(pp.Program))
	}
	filled, err := pp.Fill(map[string]uint32{"logfile": 1, "socket": 3, "pipe": 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pp.Fill(map[string]uint32{"logfile": 1}); err == nil {
		t.Errorf("Fill without every value succeeded")
	}
	checkProgram(t, filled, f, []policy.Data{{Arch: a.audit, Nr: 0, Args: [6]uint64{4}}, {Arch: a.audit, Nr: 0, Args: [6]uint64{3}}, {Arch: a.audit, Nr: 1, Args: [6]uint64{1}}, {Arch: a.audit, Nr: 1, Args: [6]uint64{5}}}, "fixed")
}

// TestParametricRefused checks the comparison a parametric compile cannot
// leave open: under a mask that keeps no bit of the low word.
func TestParametricRefused(t *testing.T) {
	a := testArches[0]
	f := &policy.Filter{Service: "s", Arch: a.name, AuditArch: a.audit, Order: a.order, Default: policy.ActKillProcess,
		Rules: []policy.Rule{{Name: "high", Nr: 9, Action: policy.ActAllow,
			When: policy.Cmp{Arg: 2, Mask: 0xffffffff00000000, Op: policy.EQ, Value: 0, Param: "logfile"}}}}
	if _, _, err := CompileParametric(f); err == nil {
		t.Fatal("compiled a comparison with a parameter under a mask with no low bit")
	}
}

// TestKernelParametric loads filled parametric programs for x86_64 into
// the running kernel and requires its verdicts to equal the interpreter's
// and the policy's.
func TestKernelParametric(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the kernel comparison runs on x86_64 hosts")
	}
	needKernel(t)
	a := testArches[0]
	r := rand.New(rand.NewSource(23))
	probes := 0
	for policies := 0; policies < 20; {
		f := withRandParams(r, randFilter(r, a), a)
		pp, _, err := CompileParametric(f)
		if err != nil {
			t.Fatal(err)
		}
		vals := randParamValues(r, filterConstants(f))
		resolved := f.WithParams(vals)
		prog, err := pp.Fill(vals)
		if err != nil {
			t.Fatal(err)
		}
		consts := filterConstants(resolved)
		var calls []kernel.Call
		var want []policy.Action
		for i := 0; i < 30; i++ {
			d := randData(r, resolved, consts)
			d.Arch = a.audit
			if uint32(d.Nr) >= policy.X32Bit {
				d.Nr &= 0x1ff
			}
			calls = append(calls, kernel.Call{Nr: d.Nr, Args: d.Args})
			want = append(want, kernelView(resolved.Decide(d)))
		}
		got, err := kernel.Probe(prog, calls)
		if err != nil {
			t.Fatalf("probe: %v\npolicy: %s", err, describe(resolved))
		}
		for i, v := range got {
			if !v.Unfiltered && v.Action != want[i] {
				t.Fatalf("nr=%#x args=%#x values %v: kernel says %v, policy %v\npolicy: %s\n%s",
					calls[i].Nr, calls[i].Args, vals, v.Action, want[i], describe(resolved), bpf.Disassemble(prog, a.order, nil))
			}
		}
		probes += len(calls)
		policies++
	}
	if os.Getenv("CI") == "true" && probes == 0 {
		t.Fatal("no probes")
	}
	t.Logf("%d probes", probes)
}
