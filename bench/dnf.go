package main

import (
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/fencer-dev/fencer/internal/policy"
)

// This file turns a resolved policy into the form libseccomp and
// go-seccomp-bpf take: per syscall, per action, a list of alternatives
// (clauses), each a conjunction of comparisons of one argument with a
// constant. The actions of one syscall get disjoint conditions, so that
// neither library's rule for conflicting actions matters.

// term is one comparison a library can express: a plain comparison of the
// whole 64-bit argument (mask all ones), or a masked equality
// ((arg & mask) == value, op EQ).
//
// A policy comparison of a 32-bit argument (mask 0xffffffff) becomes a
// plain 64-bit comparison, as users of both libraries write it: where the
// kernel leaves junk in the high half, such a program decides differently
// from the policy, which the verdict check counts apart.
type term struct {
	arg   int
	op    policy.Op
	mask  uint64
	value uint64
}

// masked reports whether t is a masked equality.
func (t term) masked() bool { return t.mask != math.MaxUint64 }

// clause is a conjunction of terms; an empty clause always holds.
type clause []term

// actionRule is one action of a syscall and the clauses under which the
// syscall gets it.
type actionRule struct {
	action  policy.Action
	clauses []clause
}

// syscallRules is everything a policy says about one syscall, as clauses.
type syscallRules struct {
	nr      uint32
	name    string
	actions []actionRule
}

// maxClauses bounds the normal form of one syscall's condition.
const maxClauses = 4096

// normalForm returns f's rules as clauses, syscalls ascending. Actions
// equal to the default are left out (both libraries refuse them); the
// exec-once gate becomes an unconditional rule with that action.
func normalForm(f *policy.Filter) ([]syscallRules, error) {
	byNr := map[uint32][]policy.Rule{}
	names := map[uint32]string{}
	for _, r := range f.Rules {
		byNr[r.Nr] = append(byNr[r.Nr], r)
		names[r.Nr] = r.Syscall
	}
	for _, nr := range f.ExecOnce {
		byNr[nr] = []policy.Rule{{Syscall: names[nr], Nr: nr, When: policy.Const(true), Action: policy.ActExecOnce}}
	}
	nrs := make([]uint32, 0, len(byNr))
	for nr := range byNr {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	var out []syscallRules
	for _, nr := range nrs {
		s, err := syscallForm(f, byNr[nr])
		if err != nil {
			return nil, fmt.Errorf("syscall %s (%d): %w", byNr[nr][0].Syscall, nr, err)
		}
		if len(s.actions) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// syscallForm gives each action of one syscall's rules the condition
// under which it wins (policy.Filter.Decide: the most restrictive action
// among the rules that hold, the first declared among equals), as clauses.
func syscallForm(f *policy.Filter, rules []policy.Rule) (syscallRules, error) {
	rules = append([]policy.Rule(nil), rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Action.Precedence() > rules[j].Action.Precedence() })
	s := syscallRules{nr: rules[0].Nr, name: rules[0].Syscall}
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
		cl, err := clauses(conds[a])
		if err != nil {
			return s, err
		}
		if len(cl) > 0 {
			s.actions = append(s.actions, actionRule{action: a, clauses: cl})
		}
	}
	return s, nil
}

// clauses is e in disjunctive normal form over terms, each clause
// simplified argument by argument.
func clauses(e policy.Expr) ([]clause, error) {
	cmps, err := dnf(e, false)
	if err != nil {
		return nil, err
	}
	var out []clause
	for _, conj := range cmps {
		alts := []clause{{}}
		for _, c := range conj {
			ts, err := cmpTerms(c)
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
			return []clause{{}}, nil // always holds
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
func cmpTerms(c policy.Cmp) ([]clause, error) {
	if c.Mask == math.MaxUint64 || c.Mask == math.MaxUint32 {
		return []clause{{{arg: c.Arg, op: c.Op, mask: math.MaxUint64, value: c.Value}}}, nil
	}
	switch c.Op {
	case policy.EQ:
		return []clause{{{arg: c.Arg, op: policy.EQ, mask: c.Mask, value: c.Value}}}, nil
	case policy.NE:
		// Some bit of the mask differs from the value's.
		var out []clause
		for m := c.Mask; m != 0; m &= m - 1 {
			b := m & -m
			out = append(out, clause{{arg: c.Arg, op: policy.EQ, mask: b, value: ^c.Value & b}})
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v: neither library compares a masked argument with %s", c, c.Op)
}

// product is the conjunction of two disjunctions of clauses.
func product(a, b []clause) ([]clause, error) {
	var out []clause
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(append(clause(nil), x...), y...))
		}
	}
	if len(out) > maxClauses {
		return nil, fmt.Errorf("more than %d alternatives", maxClauses)
	}
	return out, nil
}

// simplifyClause rewrites a clause so that each argument is compared at
// most once where a single comparison can say it: the plain comparisons
// of one argument become the intervals they allow (a conjunction of !=
// becomes alternatives), masked equalities of one argument merge into one.
// An interval bounded on both sides stays two comparisons.
func simplifyClause(c clause) ([]clause, error) {
	byArg := map[int][]term{}
	var args []int
	for _, t := range c {
		if _, ok := byArg[t.arg]; !ok {
			args = append(args, t.arg)
		}
		byArg[t.arg] = append(byArg[t.arg], t)
	}
	sort.Ints(args)
	out := []clause{{}}
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
func simplifyArg(arg int, ts []term) ([]clause, bool) {
	var plain, masked []term
	for _, t := range ts {
		if t.masked() {
			masked = append(masked, t)
		} else {
			plain = append(plain, t)
		}
	}
	var mc clause
	if len(masked) > 0 {
		m := term{arg: arg, op: policy.EQ}
		for _, t := range masked {
			if (m.value^t.value)&m.mask&t.mask != 0 {
				return nil, false
			}
			m.mask |= t.mask
			m.value |= t.value & t.mask
		}
		mc = clause{m}
	}
	if len(plain) == 0 {
		return []clause{mc}, true
	}
	ivs := []interval{{0, math.MaxUint64}}
	for _, t := range plain {
		ivs = intersect(ivs, termIntervals(t))
	}
	if len(ivs) == 0 {
		return nil, false
	}
	out := make([]clause, 0, len(ivs))
	for _, iv := range ivs {
		out = append(out, append(append(clause(nil), mc...), iv.terms(arg)...))
	}
	return out, true
}

// interval is the closed range [lo, hi].
type interval struct{ lo, hi uint64 }

// termIntervals is the set of values a plain term allows.
func termIntervals(t term) []interval {
	const max = math.MaxUint64
	v := t.value
	switch t.op {
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
func (iv interval) terms(arg int) clause {
	const max = math.MaxUint64
	t := func(op policy.Op, v uint64) term { return term{arg: arg, op: op, mask: max, value: v} }
	switch {
	case iv.lo == iv.hi:
		return clause{t(policy.EQ, iv.lo)}
	case iv.lo == 0 && iv.hi == max:
		return nil
	case iv.lo == 0:
		return clause{t(policy.LE, iv.hi)}
	case iv.hi == max:
		return clause{t(policy.GE, iv.lo)}
	}
	return clause{t(policy.GE, iv.lo), t(policy.LE, iv.hi)}
}

// singleBits lists the bits set in v, lowest first.
func singleBits(v uint64) []uint64 {
	out := make([]uint64, 0, bits.OnesCount64(v))
	for ; v != 0; v &= v - 1 {
		out = append(out, v&-v)
	}
	return out
}
