package clauses

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// holds evaluates clauses as a library would.
func holds(cls []Clause, args *[6]uint64) bool {
	for _, c := range cls {
		ok := true
		for _, t := range c {
			if t.Masked() {
				ok = ok && args[t.Arg]&t.Mask == t.Value
			} else {
				ok = ok && t.Op.Apply(args[t.Arg], t.Value)
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// randomExpr is a random condition over two arguments, with the masks
// and operators resolve gives: whole arguments, 32-bit ones, and masked
// equalities.
func randomExpr(r *rand.Rand, depth int) policy.Expr {
	if depth == 0 || r.Intn(3) == 0 {
		c := policy.Cmp{Arg: r.Intn(2), Mask: math.MaxUint64, Op: policy.Op(r.Intn(6)), Value: uint64(r.Intn(6))}
		switch r.Intn(3) {
		case 0:
			c.Mask = math.MaxUint32
		case 1:
			c.Mask, c.Op = uint64(1+r.Intn(7)), policy.Op(r.Intn(2))
		}
		return c
	}
	xs := make([]policy.Expr, 1+r.Intn(3))
	for i := range xs {
		xs[i] = randomExpr(r, depth-1)
	}
	switch r.Intn(3) {
	case 0:
		return policy.And(xs)
	case 1:
		return policy.Or(xs)
	}
	return policy.Not{X: xs[0]}
}

// TestClauses: the normal form of random conditions holds exactly where
// the condition does, on arguments whose high half is clear (where a
// 32-bit comparison and its 64-bit rendering agree).
func TestClauses(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for range 3000 {
		e := randomExpr(r, 3)
		cls, err := Of(e, Options{})
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		for range 64 {
			args := [6]uint64{uint64(r.Intn(9)), uint64(r.Intn(9))}
			if got, want := holds(cls, &args), policy.Eval(e, &args); got != want {
				t.Fatalf("%v at %v: clauses %v say %v", e, args[:2], cls, got)
			}
		}
	}
}

// TestSyscallForm: conflicting actions of one syscall get disjoint
// conditions that give the action Decide gives, and the default's action
// is left out.
func TestSyscallForm(t *testing.T) {
	a := arch.X86_64
	r := rand.New(rand.NewSource(2))
	acts := []policy.Action{policy.ActAllow, {Kind: policy.Errno, Data: 1}, {Kind: policy.Errno, Data: 2}, policy.ActKillProcess, {Kind: policy.Log}}
	for range 500 {
		f := &policy.Filter{Arch: a.Name, AuditArch: a.Audit, Order: a.Order, Default: policy.ActKillProcess}
		for range 1 + r.Intn(4) {
			f.Rules = append(f.Rules, policy.Rule{Syscall: "read", Nr: 0, When: randomExpr(r, 2), Action: acts[r.Intn(len(acts))]})
		}
		s, err := syscallForm(f, f.Rules, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for range 64 {
			args := [6]uint64{uint64(r.Intn(9)), uint64(r.Intn(9))}
			got := f.Default
			for _, ar := range s.Actions {
				if ar.Action == f.Default {
					t.Fatalf("the default's action has clauses")
				}
				if holds(ar.Clauses, &args) {
					if got != f.Default {
						t.Fatalf("%v: two actions hold at %v", f.Rules, args[:2])
					}
					got = ar.Action
				}
			}
			if want := f.Decide(policy.Data{Nr: 0, Arch: a.Audit, Args: args}); got != want {
				t.Fatalf("%v at %v: %s, Decide %s", f.Rules, args[:2], got, want)
			}
		}
	}
}

// TestBlocks: the blocks of a range cover it exactly.
func TestBlocks(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for range 2000 {
		lo := uint64(r.Intn(300))
		hi := lo + uint64(r.Intn(300))
		if r.Intn(5) == 0 {
			hi = math.MaxUint64 - uint64(r.Intn(3))
		}
		bs := Blocks(lo, hi)
		if len(bs) > 128 {
			t.Fatalf("[%d, %d]: %d blocks", lo, hi, len(bs))
		}
		for _, x := range []uint64{lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, lo + uint64(r.Intn(600)), 0, math.MaxUint64} {
			in := false
			for _, b := range bs {
				in = in || x&b.Mask == b.Value
			}
			if in != (x >= lo && x <= hi) {
				t.Fatalf("[%d, %d] blocks %v: %d in %v", lo, hi, bs, x, in)
			}
		}
	}
}

// TestClausesExact: with Exact, the normal form holds exactly where the
// condition does whatever the high halves hold, 32-bit ranges included.
func TestClausesExact(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	tooLarge := 0
	for range 3000 {
		e := randomExpr(r, 3)
		cls, err := Of(e, Options{Exact: true})
		if err != nil && strings.Contains(err.Error(), "alternatives") {
			// A 32-bit != is up to 64 blocks; several of them multiply.
			tooLarge++
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		for range 64 {
			args := [6]uint64{uint64(r.Intn(9)), uint64(r.Intn(9))}
			if r.Intn(2) == 0 {
				args[r.Intn(2)] |= uint64(1+r.Intn(3)) << 32
			}
			if got, want := holds(cls, &args), policy.Eval(e, &args); got != want {
				t.Fatalf("%v at %#x: clauses %v say %v", e, args[:2], cls, got)
			}
		}
	}
	if tooLarge > 300 {
		t.Errorf("%d of 3000 conditions have too large a normal form", tooLarge)
	}
}
