// Package clauses writes a resolved policy in the form libseccomp and OCI
// seccomp profiles take: per syscall, per action, alternatives (clauses)
// of comparisons of one argument with a constant, the actions of one
// syscall given disjoint conditions so that no library's rule for
// conflicting actions matters. The benchmark's libseccomp and
// go-seccomp-bpf adapters and fencer export oci use it.
package clauses

import (
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Term is one comparison a library can express: a plain comparison of the
// whole 64-bit argument (mask all ones), or a masked equality
// ((arg & mask) == value, op EQ).
//
// Without Options.Exact, a policy comparison of a 32-bit argument (mask
// 0xffffffff) becomes a plain 64-bit comparison, as users of both
// libraries write it: where the kernel leaves junk in the high half, such
// a program decides differently from the policy, which the benchmark's
// verdict check counts apart. With it, the comparison stays on the bits
// the policy compares, as masked equalities.
type Term struct {
	Arg   int
	Op    policy.Op
	Mask  uint64
	Value uint64
}

// Masked reports whether t is a masked equality.
func (t Term) Masked() bool { return t.Mask != math.MaxUint64 }

// Clause is a conjunction of terms; an empty Clause always holds.
type Clause []Term

// ActionRule is one action of a syscall and the clauses under which the
// syscall gets it.
type ActionRule struct {
	Action  policy.Action
	Clauses []Clause
}

// Syscall is everything a policy says about one syscall, as clauses.
type Syscall struct {
	Nr      uint32
	Name    string
	Actions []ActionRule
}

// maxClauses bounds the normal form of one syscall's condition.
const maxClauses = 4096

// NormalForm returns f's rules as clauses, syscalls ascending. Actions
// equal to the default are left out (both libraries refuse them); the
// exec-once gate becomes an unconditional rule with that action.
func NormalForm(f *policy.Filter, opt Options) ([]Syscall, error) {
	byNr := map[uint32][]policy.Rule{}
	names := map[uint32]string{}
	for _, r := range f.Rules {
		byNr[r.Nr] = append(byNr[r.Nr], r)
		names[r.Nr] = r.Syscall
	}
	for _, nr := range f.ExecOnce {
		name := names[nr]
		if a, ok := arch.Lookup(f.Arch); ok && name == "" {
			name, _ = a.SyscallName(int(nr))
		}
		byNr[nr] = []policy.Rule{{Syscall: name, Nr: nr, When: policy.Const(true), Action: policy.ActExecOnce}}
	}
	nrs := make([]uint32, 0, len(byNr))
	for nr := range byNr {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	var out []Syscall
	for _, nr := range nrs {
		s, err := syscallForm(f, byNr[nr], opt)
		if err != nil {
			return nil, fmt.Errorf("syscall %s (%d): %w", byNr[nr][0].Syscall, nr, err)
		}
		if len(s.Actions) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// syscallForm gives each action of one syscall's rules the condition
// under which it wins (policy.Filter.Decide: the most restrictive action
// among the rules that hold, the first declared among equals), as clauses.
func syscallForm(f *policy.Filter, rules []policy.Rule, opt Options) (Syscall, error) {
	rules = append([]policy.Rule(nil), rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Action.Precedence() > rules[j].Action.Precedence() })
	s := Syscall{Nr: rules[0].Nr, Name: rules[0].Syscall}
	// An action wins when one of its rules holds and no rule before that
	// one with another action does.
	conds := map[policy.Action]policy.Or{}
	var order []policy.Action
	for k, r := range rules {
		var others policy.Or
		for _, b := range rules[:k] {
			if b.Action != r.Action {
				others = append(others, b.When)
			}
		}
		if _, ok := conds[r.Action]; !ok {
			order = append(order, r.Action)
		}
		conds[r.Action] = append(conds[r.Action], policy.And{r.When, policy.Not{X: others}})
	}
	for _, a := range order {
		if a == f.Default {
			continue
		}
		cl, err := Of(conds[a], opt)
		if err != nil {
			return s, err
		}
		if len(cl) > 0 {
			s.Actions = append(s.Actions, ActionRule{Action: a, Clauses: cl})
		}
	}
	return s, nil
}

// Options say how comparisons are written.
type Options struct {
	// Exact keeps a comparison of fewer than 64 bits (a 32-bit argument,
	// a 16-bit mode) on those bits: masked equalities, a range as the
	// aligned blocks that cover it.
	Exact bool
}

// Of is e in disjunctive normal form over terms, each clause simplified
// argument by argument.
func Of(e policy.Expr, opt Options) ([]Clause, error) {
	cmps, err := dnf(e, false)
	if err != nil {
		return nil, err
	}
	var out []Clause
	for _, conj := range cmps {
		alts := []Clause{{}}
		for _, c := range conj {
			ts, err := cmpTerms(c, opt)
			if err != nil {
				return nil, err
			}
			if alts, err = product(alts, ts); err != nil {
				return nil, err
			}
		}
		for _, a := range alts {
			simple, err := simplifyClause(a)
			if err != nil {
				return nil, err
			}
			out = append(out, simple...)
			if len(out) > maxClauses {
				return nil, fmt.Errorf("more than %d alternatives", maxClauses)
			}
		}
	}
	for _, c := range out {
		if len(c) == 0 {
			return []Clause{{}}, nil // always holds
		}
	}
	return out, nil
}

// dnf returns e (negated when neg) as alternatives of conjunctions of
// comparisons, constants folded.
func dnf(e policy.Expr, neg bool) ([][]policy.Cmp, error) {
	switch x := e.(type) {
	case policy.Const:
		if bool(x) != neg {
			return [][]policy.Cmp{{}}, nil
		}
		return nil, nil
	case policy.Cmp:
		if neg {
			x.Op = x.Op.Negate()
		}
		if always, ok := x.Decided(); ok {
			return dnf(policy.Const(always), false)
		}
		return [][]policy.Cmp{{x}}, nil
	case policy.Not:
		return dnf(x.X, !neg)
	case policy.And:
		return dnfList(x, neg, !neg)
	case policy.Or:
		return dnfList(x, neg, neg)
	}
	return nil, fmt.Errorf("unknown condition %T", e)
}

// dnfList is dnf of the operands of an And (conj) or an Or (!conj).
func dnfList(xs []policy.Expr, neg, conj bool) ([][]policy.Cmp, error) {
	var acc [][]policy.Cmp
	if conj {
		acc = [][]policy.Cmp{{}}
	}
	for _, x := range xs {
		d, err := dnf(x, neg)
		if err != nil {
			return nil, err
		}
		if !conj {
			acc = append(acc, d...)
		} else {
			var next [][]policy.Cmp
			for _, a := range acc {
				for _, b := range d {
					next = append(next, append(append([]policy.Cmp(nil), a...), b...))
				}
			}
			acc = next
		}
		if len(acc) > maxClauses {
			return nil, fmt.Errorf("more than %d alternatives", maxClauses)
		}
	}
	return acc, nil
}

// cmpTerms expresses one policy comparison as alternatives of terms.
func cmpTerms(c policy.Cmp, opt Options) ([]Clause, error) {
	if c.Mask == math.MaxUint64 || c.Mask == math.MaxUint32 && !opt.Exact {
		return []Clause{{{Arg: c.Arg, Op: c.Op, Mask: math.MaxUint64, Value: c.Value}}}, nil
	}
	switch c.Op {
	case policy.EQ:
		return []Clause{{{Arg: c.Arg, Op: policy.EQ, Mask: c.Mask, Value: c.Value}}}, nil
	case policy.NE:
		if c.Mask&(c.Mask+1) == 0 {
			break // a range of the low bits: see below
		}
		// Some bit of the mask differs from the value's.
		var out []Clause
		for m := c.Mask; m != 0; m &= m - 1 {
			b := m & -m
			out = append(out, Clause{{Arg: c.Arg, Op: policy.EQ, Mask: b, Value: ^c.Value & b}})
		}
		return out, nil
	}
	if c.Mask&(c.Mask+1) != 0 {
		return nil, fmt.Errorf("%v: neither library compares a masked argument with %s", c, c.Op)
	}
	// The bits under the mask form a number (its low bits): the range
	// stays a comparison until simplifyArg has intersected the ranges of
	// the argument and writes what is left as blocks.
	return []Clause{{{Arg: c.Arg, Op: c.Op, Mask: c.Mask, Value: c.Value}}}, nil
}

// product is the conjunction of two disjunctions of clauses.
func product(a, b []Clause) ([]Clause, error) {
	var out []Clause
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(append(Clause(nil), x...), y...))
		}
	}
	if len(out) > maxClauses {
		return nil, fmt.Errorf("more than %d alternatives", maxClauses)
	}
	return out, nil
}

// simplifyClause rewrites a Clause so that each argument is compared at
// most once where a single comparison can say it: the plain comparisons
// of one argument become the intervals they allow (a conjunction of !=
// becomes alternatives), masked equalities of one argument merge into one.
// An interval bounded on both sides stays two comparisons.
func simplifyClause(c Clause) ([]Clause, error) {
	byArg := map[int][]Term{}
	var args []int
	for _, t := range c {
		if _, ok := byArg[t.Arg]; !ok {
			args = append(args, t.Arg)
		}
		byArg[t.Arg] = append(byArg[t.Arg], t)
	}
	sort.Ints(args)
	out := []Clause{{}}
	for _, a := range args {
		alts, ok := simplifyArg(a, byArg[a])
		if !ok {
			return nil, nil // never holds
		}
		var err error
		if out, err = product(out, alts); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// simplifyArg is simplifyClause for the terms of one argument; false when
// they cannot all hold.
func simplifyArg(arg int, ts []Term) ([]Clause, bool) {
	var plain, masked []Term
	ranged := map[uint64][]Term{}
	for _, t := range ts {
		switch {
		case !t.Masked():
			plain = append(plain, t)
		case t.Op == policy.EQ:
			masked = append(masked, t)
		default:
			ranged[t.Mask] = append(ranged[t.Mask], t)
		}
	}
	var mc *Term
	if len(masked) > 0 {
		m := Term{Arg: arg, Op: policy.EQ}
		for _, t := range masked {
			var ok bool
			if m, ok = merge(m, t); !ok {
				return nil, false
			}
		}
		mc = &m
	}
	alts := []Clause{{}}
	if mc != nil {
		alts = []Clause{{*mc}}
	}
	for _, mask := range sortedMasks(ranged) {
		var next []Clause
		for _, b := range rangeBlocks(mask, ranged[mask]) {
			for _, a := range alts {
				if len(a) == 0 {
					next = append(next, Clause{b})
				} else if m, ok := merge(a[0], b); ok {
					next = append(next, Clause{m})
				}
			}
		}
		if alts = next; len(alts) == 0 {
			return nil, false
		}
	}
	if len(plain) == 0 {
		return alts, true
	}
	ivs := []interval{{0, math.MaxUint64}}
	for _, t := range plain {
		ivs = intersect(ivs, termIntervals(t))
	}
	if len(ivs) == 0 {
		return nil, false
	}
	out := make([]Clause, 0, len(ivs)*len(alts))
	for _, a := range alts {
		for _, iv := range ivs {
			out = append(out, append(append(Clause(nil), a...), iv.terms(arg)...))
		}
	}
	return out, true
}

// merge is the conjunction of two masked equalities of one argument;
// false when they cannot both hold.
func merge(a, b Term) (Term, bool) {
	if (a.Value^b.Value)&a.Mask&b.Mask != 0 {
		return a, false
	}
	return Term{Arg: a.Arg, Op: policy.EQ, Mask: a.Mask | b.Mask, Value: a.Value&a.Mask | b.Value&b.Mask}, true
}

func sortedMasks(m map[uint64][]Term) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// rangeBlocks is the conjunction of comparisons of the low bits under
// mask (all ones up to some bit) as masked equalities, one per aligned
// block of the values they allow.
func rangeBlocks(mask uint64, ts []Term) []Term {
	ivs := []interval{{0, mask}}
	for _, t := range ts {
		ivs = intersect(ivs, termIntervals(Term{Op: t.Op, Value: t.Value}))
	}
	var out []Term
	for _, iv := range ivs {
		for _, b := range Blocks(iv.lo, iv.hi) {
			out = append(out, Term{Arg: ts[0].Arg, Op: policy.EQ, Mask: b.Mask & mask, Value: b.Value})
		}
	}
	return out
}

// interval is the closed range [lo, hi].
type interval struct{ lo, hi uint64 }

// termIntervals is the set of values a plain Term allows.
func termIntervals(t Term) []interval {
	const max = math.MaxUint64
	v := t.Value
	switch t.Op {
	case policy.EQ:
		return []interval{{v, v}}
	case policy.NE:
		var out []interval
		if v > 0 {
			out = append(out, interval{0, v - 1})
		}
		if v < max {
			out = append(out, interval{v + 1, max})
		}
		return out
	case policy.LT:
		if v == 0 {
			return nil
		}
		return []interval{{0, v - 1}}
	case policy.LE:
		return []interval{{0, v}}
	case policy.GT:
		if v == max {
			return nil
		}
		return []interval{{v + 1, max}}
	}
	return []interval{{v, max}} // GE
}

// intersect is the intersection of two sorted lists of disjoint intervals.
func intersect(a, b []interval) []interval {
	var out []interval
	for _, x := range a {
		for _, y := range b {
			lo, hi := max(x.lo, y.lo), min(x.hi, y.hi)
			if lo <= hi {
				out = append(out, interval{lo, hi})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out
}

// terms says iv with as few comparisons as possible.
func (iv interval) terms(arg int) Clause {
	const max = math.MaxUint64
	t := func(op policy.Op, v uint64) Term { return Term{Arg: arg, Op: op, Mask: max, Value: v} }
	switch {
	case iv.lo == iv.hi:
		return Clause{t(policy.EQ, iv.lo)}
	case iv.lo == 0 && iv.hi == max:
		return nil
	case iv.lo == 0:
		return Clause{t(policy.LE, iv.hi)}
	case iv.hi == max:
		return Clause{t(policy.GE, iv.lo)}
	}
	return Clause{t(policy.GE, iv.lo), t(policy.LE, iv.hi)}
}

// SingleBits lists the bits set in v, lowest first.
func SingleBits(v uint64) []uint64 {
	out := make([]uint64, 0, bits.OnesCount64(v))
	for ; v != 0; v &= v - 1 {
		out = append(out, v&-v)
	}
	return out
}

// SplitRanges rewrites the ranges of a Clause (arg >= lo && arg <= hi,
// which libseccomp cannot say in one rule) as alternatives of masked
// equalities, one per aligned Block of the range: x is in [lo, hi]
// exactly when its high bits equal one Block's prefix.
func SplitRanges(cl Clause) []Clause {
	out := []Clause{{}}
	for i := 0; i < len(cl); i++ {
		t := cl[i]
		alts := []Clause{{t}}
		if i+1 < len(cl) && t.Op == policy.GE && !t.Masked() && cl[i+1].Arg == t.Arg && cl[i+1].Op == policy.LE && !cl[i+1].Masked() {
			alts = nil
			for _, b := range Blocks(t.Value, cl[i+1].Value) {
				alts = append(alts, Clause{{Arg: t.Arg, Op: policy.EQ, Mask: b.Mask, Value: b.Value}})
			}
			i++
		}
		out, _ = product(out, alts)
	}
	return out
}

// Block is the values x with x & mask == value.
type Block struct{ Mask, Value uint64 }

// Blocks covers [lo, hi] with the fewest aligned Blocks (at most 128).
func Blocks(lo, hi uint64) []Block {
	var out []Block
	for lo <= hi {
		// The largest aligned Block that starts at lo and ends by hi.
		size := uint64(1)
		for size<<1 != 0 && lo&(size<<1-1) == 0 && lo+(size<<1)-1 <= hi {
			size <<= 1
		}
		out = append(out, Block{Mask: ^(size - 1), Value: lo})
		if lo+size-1 == math.MaxUint64 {
			break
		}
		lo += size
	}
	return out
}
