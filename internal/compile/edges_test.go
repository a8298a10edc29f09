package compile

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

// edgeNumbers are syscall numbers at the edges of the number space as
// the dispatch and policy Explain see them: 0, the top of the x32-free
// range, the x32 bit, the sign bit (negative numbers as int32) and the
// largest number.
var edgeNumbers = []uint32{
	0, 1, 2,
	policy.X32Bit - 2, policy.X32Bit - 1, policy.X32Bit, policy.X32Bit + 1,
	0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001,
	0xfffffffd, 0xfffffffe, 0xffffffff,
}

// TestEdgeSyscallNumbers gives rules, and the exec-once gate, syscall
// numbers at the edges of the number space (which the random policies,
// drawn below 460, never name), and compares program and policy on every
// number next to each, on every architecture: on x86_64 a rule at or
// above the x32 bit is never consulted, elsewhere such a number is as
// ordinary as any. An edge number the policy allows whatever its
// arguments must be found allowed by the kernel's action-cache check.
func TestEdgeSyscallNumbers(t *testing.T) {
	eachArch(t, 31, func(t *testing.T, a testArch, r *rand.Rand) {
		cached := 0
		var probe []uint32
		for _, nr := range edgeNumbers {
			probe = append(probe, nr-1, nr, nr+1)
		}
		for i := 0; i < 200; i++ {
			f := randFilter(r, a)
			if i%3 == 0 {
				f.Default = policy.ActAllow
			}
			for j, n := 0, 1+r.Intn(6); j < n; j++ {
				var when policy.Expr = policy.Const(true)
				if r.Intn(2) == 0 {
					when = randExpr(r, a, 1+r.Intn(3))
				}
				f.Rules = append(f.Rules, policy.Rule{
					Name:   fmt.Sprint("edge", j),
					Nr:     edgeNumbers[r.Intn(len(edgeNumbers))],
					When:   when,
					Action: randAction(r),
				})
			}
			if r.Intn(3) == 0 {
				f.ExecOnce = append(f.ExecOnce, edgeNumbers[r.Intn(len(edgeNumbers))])
			}
			checkNumbers(t, r, f, probe)
			prog, _, err := Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, nr := range probe {
				if checkCached(t, r, f, prog, nr) {
					cached++
				}
			}
		}
		if cached == 0 {
			t.Errorf("no edge number found cacheable: the sample proves little")
		}
	})
}

// TestRangeEdges builds runs of three or more consecutive values
// (compile.ranges) at the edges of what a mask can produce: from 0, up to
// the mask itself (0xffffffff, a byte, a mask with a hole), across the
// sign bit, beside values the mask cannot produce, beside comparisons of
// the same argument's high word or with another mask, under ==, != and
// their negations, nested in && and ||; and compares program and policy
// on every value next to each run's ends, with the high word 0, 1 and all
// ones, on every architecture.
func TestRangeEdges(t *testing.T) {
	type run struct {
		mask   uint64
		lo, hi uint64
	}
	runs := []run{
		{0xffffffff, 0, 2},
		{0xffffffff, 0, 5},
		{0xffffffff, 0xfffffffd, 0xffffffff},
		{0xffffffff, 0x7ffffffe, 0x80000001},
		{0xffffffff, 0x3fffffff, 0x40000002},
		{0xff, 0xfd, 0xff},
		{0xff, 0, 0xff},
		{0xff, 0, 3},
		{0xb, 0, 3},              // 0b1011: 0..3 and 8..11
		{0xb, 8, 11},             // the upper half of the hole
		{0xfffffff0, 0x10, 0x30}, // no two neighbours producible
		{0x7fffffff, 0x7ffffffd, 0x7fffffff},
		{0xfffffffe, 0, 4}, // only the even ones
	}
	eachArch(t, 37, func(t *testing.T, a testArch, r *rand.Rand) {
		coalesced := 0
		for i := 0; i < 400; i++ {
			ru := runs[r.Intn(len(runs))]
			arg := r.Intn(6)
			op := policy.EQ
			if r.Intn(2) == 0 {
				op = policy.NE
			}
			var xs []policy.Expr
			for v := ru.lo; v <= ru.hi && v-ru.lo < 40; v++ {
				xs = append(xs, policy.Cmp{Arg: arg, Mask: ru.mask, Op: op, Value: v})
			}
			// Noise beside the run: the same argument's high word, a
			// 64-bit mask, another mask, a value the mask cannot
			// produce, a duplicate.
			for k, n := 0, r.Intn(4); k < n; k++ {
				var c policy.Cmp
				switch r.Intn(5) {
				case 0:
					c = policy.Cmp{Arg: arg, Mask: ^uint64(0), Op: op, Value: ru.lo + 1<<32}
				case 1:
					c = policy.Cmp{Arg: arg, Mask: ru.mask | 1<<32, Op: op, Value: ru.hi + 1}
				case 2:
					c = policy.Cmp{Arg: arg, Mask: 0xffff, Op: op, Value: ru.hi + 1}
				case 3:
					c = policy.Cmp{Arg: arg, Mask: ru.mask, Op: op, Value: ru.hi + 1}
				default:
					c = policy.Cmp{Arg: arg, Mask: ru.mask, Op: op, Value: ru.lo}
				}
				at := r.Intn(len(xs) + 1)
				xs = append(xs[:at], append([]policy.Expr{c}, xs[at:]...)...)
			}
			var e policy.Expr
			if op == policy.EQ {
				e = policy.Or(xs)
			} else {
				e = policy.And(xs)
			}
			switch r.Intn(4) {
			case 1:
				e = policy.Not{X: e}
			case 2:
				e = policy.And{randExpr(r, a, 1), e}
			case 3:
				e = policy.Or{policy.Not{X: e}, randExpr(r, a, 1)}
			}
			s := &simplifier{}
			if simple := s.simplify(e); ranges(simple).String() != simple.String() {
				coalesced++
			}
			f := randFilter(r, a)
			f.ExecOnce = nil
			nr := uint32(r.Intn(460))
			f.Rules = append(f.Rules, policy.Rule{Name: "run", Nr: nr, When: e, Action: randAction(r)})
			consts := filterConstants(f)
			var inputs []policy.Data
			for _, v := range []uint64{ru.lo - 1, ru.lo, ru.lo + 1, ru.hi - 1, ru.hi, ru.hi + 1, ru.mask, ru.mask + 1, 0, 0xffffffff} {
				for _, high := range []uint64{0, 1 << 32, 0xffffffff << 32} {
					d := randData(r, f, consts)
					d.Nr, d.Arch = int32(nr), f.AuditArch
					d.Args[arg] = high | uint64(uint32(v))
					inputs = append(inputs, d)
				}
			}
			check(t, f, inputs)
		}
		// Most draws must be rewritten, or the comparison proves little.
		if coalesced < 200 {
			t.Errorf("only %d of 400 conditions had a run compared as a range", coalesced)
		}
		t.Logf("%d of 400 conditions had a run compared as a range", coalesced)
	})
}

// TestLongProgramEveryConstant compiles long programs (blocks of
// comparisons amid allow-lists, then a rule of hundreds of alternatives,
// some of them runs of neighbours, grown while the program fits), where
// the dispatch reaches its blocks through trampolines and the optimizer
// has moved code, and compares program and policy for each conditional
// syscall on every value next to each constant its rules compare with,
// in the argument compared, rather than on a few drawn inputs; and the
// kernel's action-cache check on every syscall number.
func TestLongProgramEveryConstant(t *testing.T) {
	eachArch(t, 43, func(t *testing.T, a testArch, r *rand.Rand) {
		base := bigBlocks(r, a, 25, 40)
		filler := uint32(r.Intn(460))
		var f *policy.Filter
		longest := 0
		for n := 100; ; n += 150 {
			g := *base
			g.Rules = append([]policy.Rule(nil), base.Rules...)
			var or policy.Or
			for v := 0; v < n; v++ {
				step := uint64(3)
				if v%7 < 3 {
					step = 1 // runs of neighbours, compared as ranges
				}
				or = append(or, policy.Cmp{Arg: 1, Mask: 0xffffffff, Op: policy.EQ, Value: uint64(v)*3 + step})
			}
			g.Rules = append(g.Rules, policy.Rule{Name: "filler", Nr: filler, When: or, Action: policy.Action{Kind: policy.Trap}})
			p, _, err := Compile(&g)
			if err != nil {
				break
			}
			f, longest = &g, len(p)
		}
		if f == nil || longest < 2000 {
			t.Fatalf("longest program %d instructions: the test proves little", longest)
		}
		var inputs []policy.Data
		for _, rule := range f.Rules {
			for _, c := range policy.Comparisons(rule.When) {
				for _, v := range []uint64{c.Value - 1, c.Value, c.Value + 1} {
					d := policy.Data{Nr: int32(rule.Nr), Arch: f.AuditArch}
					d.Args[c.Arg] = v
					inputs = append(inputs, d)
				}
			}
		}
		check(t, f, inputs)
		// And the kernel's action cache on every number.
		prog, _, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		cached := 0
		for _, nr := range numbersAround(470) {
			if checkCached(t, r, f, prog, nr) {
				cached++
			}
		}
		if cached == 0 {
			t.Errorf("no syscall found cacheable: the sample proves little")
		}
		t.Logf("%d instructions, %d inputs, %d syscalls cacheable", longest, len(inputs), cached)
	})
}
