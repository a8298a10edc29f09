package cond

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

// gen makes random conditions from a small pool of constants, so that
// comparisons often meet their edges (equal values, masks sharing bits,
// values beyond the mask) where a wrong diagram would show.
type gen struct {
	r     *rand.Rand
	pool  []uint64
	nargs int
}

func newGen(seed int64, nargs int) *gen {
	r := rand.New(rand.NewSource(seed))
	pool := []uint64{0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000, 0x8000000000000000, ^uint64(0), ^uint64(0) - 1}
	for range 8 {
		pool = append(pool, r.Uint64(), uint64(r.Uint32()), uint64(r.Intn(64)))
	}
	return &gen{r: r, pool: pool, nargs: nargs}
}

func (g *gen) value() uint64 {
	v := g.pool[g.r.Intn(len(g.pool))]
	switch g.r.Intn(6) {
	case 0:
		v++
	case 1:
		v--
	case 2:
		v = ^v
	}
	return v
}

func (g *gen) expr(depth int) policy.Expr {
	if depth <= 0 || g.r.Intn(3) == 0 {
		if g.r.Intn(20) == 0 {
			return policy.Const(g.r.Intn(2) == 0)
		}
		return policy.Cmp{Arg: g.r.Intn(g.nargs), Mask: g.value(), Op: policy.Op(g.r.Intn(6)), Value: g.value()}
	}
	switch g.r.Intn(3) {
	case 0:
		return policy.Not{X: g.expr(depth - 1)}
	case 1:
		x := policy.And{}
		for range 1 + g.r.Intn(3) {
			x = append(x, g.expr(depth-1))
		}
		return x
	}
	x := policy.Or{}
	for range 1 + g.r.Intn(3) {
		x = append(x, g.expr(depth-1))
	}
	return x
}

// inputs are argument vectors built from the constants in e (each value,
// one either side of it, its mask, value|^mask, ...), mixed across
// arguments, plus random ones.
func inputs(r *rand.Rand, e policy.Expr, n int) [][6]uint64 {
	var vals []uint64
	for _, x := range policy.Comparisons(e) {
		vals = append(vals, x.Value, x.Value+1, x.Value-1, x.Mask, x.Value|^x.Mask, x.Value&x.Mask, (x.Value&x.Mask)+1, (x.Value&x.Mask)-1)
	}
	vals = append(vals, 0, ^uint64(0))
	out := make([][6]uint64, n)
	for i := range out {
		for a := range out[i] {
			if r.Intn(8) == 0 {
				out[i][a] = r.Uint64()
			} else {
				out[i][a] = vals[r.Intn(len(vals))]
			}
		}
	}
	return out
}

// TestDifferentialEval checks the diagram of random conditions against
// policy.Eval, the policy's own meaning, on inputs derived from each
// condition's constants: the diagram must agree on every one, be True only
// for conditions that held on all of them and False only for those that
// held on none, and its witness must satisfy the condition.
func TestDifferentialEval(t *testing.T) {
	const conds = 3000
	r := rand.New(rand.NewSource(1))
	for i := range conds {
		g := newGen(int64(i), 1+i%6)
		e := g.expr(4)
		m := New(0)
		ref, err := m.Expr(e)
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		sawTrue, sawFalse := false, false
		for _, args := range inputs(r, e, 200) {
			want := policy.Eval(e, &args)
			if got := m.Eval(ref, args[:]); got != want {
				t.Fatalf("%v at %#x: diagram says %v, Eval %v", e, args, got, want)
			}
			sawTrue = sawTrue || want
			sawFalse = sawFalse || !want
		}
		if ref == True && sawFalse || ref == False && sawTrue {
			t.Fatalf("%v: diagram is constant %v but Eval disagrees on some input", e, ref == True)
		}
		if w, ok := m.Witness(ref); ok {
			var args [6]uint64
			copy(args[:], w[:6])
			if !policy.Eval(e, &args) {
				t.Fatalf("%v: witness %#x does not satisfy it", e, args)
			}
		} else if ref != False {
			t.Fatalf("%v: no witness for a satisfiable diagram", e)
		}
	}
}

// small makes conditions whose masks stay within the low 3 bits of two
// arguments, so that all 64 argument combinations can be tried.
func small(seed int64) policy.Expr {
	g := newGen(seed, 2)
	g.pool = []uint64{0, 1, 2, 3, 4, 5, 6, 7}
	var fix func(policy.Expr) policy.Expr
	fix = func(e policy.Expr) policy.Expr {
		switch x := e.(type) {
		case policy.And:
			for i := range x {
				x[i] = fix(x[i])
			}
		case policy.Or:
			for i := range x {
				x[i] = fix(x[i])
			}
		case policy.Not:
			return policy.Not{X: fix(x.X)}
		case policy.Cmp:
			x.Mask &= 7
			x.Value &= 15
			return x
		}
		return e
	}
	return fix(g.expr(3))
}

func each(f func(a0, a1 uint64)) {
	for a0 := uint64(0); a0 < 8; a0++ {
		for a1 := uint64(0); a1 < 8; a1++ {
			f(a0, a1)
		}
	}
}

// TestQuantifiersExhaustive checks Exists, Forall, Implies, Max, Move and
// constancy against brute force over every value of two 3-bit arguments.
func TestQuantifiersExhaustive(t *testing.T) {
	for i := range 1500 {
		a, b := small(int64(2*i)), small(int64(2*i+1))
		m := New(0)
		ra, err := m.Expr(a)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := m.Expr(b)
		if err != nil {
			t.Fatal(err)
		}
		eval := func(e policy.Expr, a0, a1 uint64) bool { return policy.Eval(e, &[6]uint64{a0, a1}) }

		implies, always, never := true, true, true
		each(func(a0, a1 uint64) {
			x := eval(a, a0, a1)
			if x && !eval(b, a0, a1) {
				implies = false
			}
			always = always && x
			never = never && !x
		})
		if got, err := m.Implies(ra, rb); err != nil || got != implies {
			t.Fatalf("Implies(%v, %v) = %v, %v; want %v", a, b, got, err, implies)
		}
		if (ra == True) != always || (ra == False) != never {
			t.Fatalf("%v: constant True=%v False=%v, brute force always=%v never=%v", a, ra == True, ra == False, always, never)
		}

		ex, err := m.Exists(ra, 0)
		if err != nil {
			t.Fatal(err)
		}
		fa, err := m.Forall(ra, 0)
		if err != nil {
			t.Fatal(err)
		}
		var maxA0 uint64
		any := false
		for a0 := uint64(0); a0 < 8; a0++ {
			some, all := false, true
			for a1 := uint64(0); a1 < 8; a1++ {
				x := eval(a, a0, a1)
				some = some || x
				all = all && x
			}
			// Bits of arg0 above the mask do not matter: check a high one.
			for _, hi := range []uint64{0, 1 << 40} {
				if m.Eval(ex, []uint64{a0 | hi, 12345}) != some {
					t.Fatalf("Exists(%v, keep arg0) at arg0=%d: want %v", a, a0, some)
				}
				if m.Eval(fa, []uint64{a0 | hi, 12345}) != all {
					t.Fatalf("Forall(%v, keep arg0) at arg0=%d: want %v", a, a0, all)
				}
			}
			if some {
				maxA0, any = a0, true
			}
		}
		if got, ok := m.Max(ra, 0, 7); ok != any || ok && got != maxA0 {
			t.Fatalf("Max(%v, arg0) = %d, %v; want %d, %v", a, got, ok, maxA0, any)
		}
		mv, err := m.Move(ex, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		for a0 := uint64(0); a0 < 8; a0++ {
			args := make([]uint64, NumArgs)
			args[7] = a0
			if m.Eval(mv, args) != m.Eval(ex, []uint64{a0}) {
				t.Fatalf("Move(%v) differs at %d", a, a0)
			}
		}
	}
}

// TestComparisonEdges pins down comparisons whose answer the mask decides,
// which the lints report as always or never true.
func TestComparisonEdges(t *testing.T) {
	m := New(0)
	for _, c := range []struct {
		cmp  policy.Cmp
		want Ref
	}{
		{policy.Cmp{Arg: 1, Mask: 0, Op: policy.EQ, Value: 0}, True},           // has_bits(arg1, O_RDONLY)
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.EQ, Value: 0x100}, False},   // value beyond the mask
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.NE, Value: 0x100}, True},    //
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.LT, Value: 0x100}, True},    // every masked value is below
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.GE, Value: 0x100}, False},   //
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.LE, Value: 0xff}, True},     //
		{policy.Cmp{Arg: 0, Mask: 0xff, Op: policy.GT, Value: 0xff}, False},    //
		{policy.Cmp{Arg: 0, Mask: ^uint64(0), Op: policy.GE, Value: 0}, True},  //
		{policy.Cmp{Arg: 0, Mask: ^uint64(0), Op: policy.LT, Value: 0}, False}, //
	} {
		r, err := m.Expr(c.cmp)
		if err != nil || r != c.want {
			t.Errorf("%v: got %v, %v; want %v", c.cmp, r, err, c.want)
		}
	}
	// arg0 == 1 && arg0 == 2 is never true; arg0 == 1 || arg0 != 1 always.
	r, _ := m.Expr(policy.And{policy.Cmp{Mask: ^uint64(0), Value: 1}, policy.Cmp{Mask: ^uint64(0), Value: 2}})
	if r != False {
		t.Errorf("arg0 == 1 && arg0 == 2 is not False")
	}
	r, _ = m.Expr(policy.Or{policy.Cmp{Mask: ^uint64(0), Value: 1}, policy.Cmp{Mask: ^uint64(0), Op: policy.NE, Value: 1}})
	if r != True {
		t.Errorf("arg0 == 1 || arg0 != 1 is not True")
	}
}

// TestCmpSizeLinear: a comparison costs one node per bit of its mask.
func TestCmpSizeLinear(t *testing.T) {
	for _, op := range []policy.Op{policy.EQ, policy.LT, policy.LE} {
		m := New(0)
		before := m.Size()
		if _, err := m.Expr(policy.Cmp{Arg: 3, Mask: 0xffffffff, Op: op, Value: 0x12345678}); err != nil {
			t.Fatal(err)
		}
		if n := m.Size() - before; n > 32 {
			t.Errorf("%v on 32 bits made %d nodes", op, n)
		}
	}
}

// TestLimit: a condition whose diagram is exponential in the variable
// order (bit i of arg0 and bit i of arg1 for every i) stops at the limit
// with ErrTooBig, in bounded memory, and the Manager stays usable.
func TestLimit(t *testing.T) {
	const limit = 5000
	var e policy.Or
	for b := range 40 {
		bit := uint64(1) << b
		e = append(e, policy.And{
			policy.Cmp{Arg: 0, Mask: bit, Op: policy.EQ, Value: bit},
			policy.Cmp{Arg: 1, Mask: bit, Op: policy.EQ, Value: bit},
		})
	}
	m := New(limit)
	if _, err := m.Expr(e); !errors.Is(err, ErrTooBig) {
		t.Fatalf("got %v, want ErrTooBig", err)
	}
	if m.Size() > limit {
		t.Fatalf("%d nodes past the limit of %d", m.Size(), limit)
	}
	if _, err := m.Expr(policy.Cmp{Arg: 2, Mask: 1, Op: policy.EQ, Value: 1}); err != nil && !errors.Is(err, ErrTooBig) {
		t.Fatalf("after the limit: %v", err)
	}
}

func TestBadArgument(t *testing.T) {
	m := New(0)
	if _, err := m.Expr(policy.Cmp{Arg: NumArgs, Mask: 1}); err == nil {
		t.Error("argument beyond NumArgs accepted")
	}
	if _, err := m.Move(True, 0, NumArgs); err == nil {
		t.Error("Move to an argument beyond NumArgs accepted")
	}
	r, _ := m.Expr(policy.And{policy.Cmp{Arg: 0, Mask: 1, Value: 1}, policy.Cmp{Arg: 1, Mask: 1, Value: 1}})
	if _, err := m.Move(r, 0, 2); err == nil {
		t.Error("Move of a condition on two arguments accepted")
	}
}
