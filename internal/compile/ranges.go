package compile

import (
	"sort"

	"github.com/fencer-dev/fencer/internal/policy"
)

// minRun is the shortest run of consecutive values that ranges turns into
// a range check. Two comparisons cost a range check's two jumps, so only
// three or more gain: one instruction fewer per value past the second on
// every path that falls through them all, such as the fds a
// `!contains([...], arg0)` keeps out.
const minRun = 3

// ranges rewrites, throughout e, an || of equalities between one argument
// word and three or more consecutive values into a range check
// (lo <= a && a <= hi), and an && of the matching inequalities into its
// negation (a < lo || a > hi). Only comparisons of a low word alone (the
// mask keeps no bit of the high word) are rewritten: for those the range
// check is two jumps after one load, where a 64-bit one would need the
// high word compared on both sides. Alternatives are otherwise kept in
// their order; the run takes the place of its first member.
func ranges(e policy.Expr) policy.Expr {
	switch x := e.(type) {
	case policy.Not:
		return policy.Not{X: ranges(x.X)}
	case policy.Or:
		out := make(policy.Or, len(x))
		for i, y := range x {
			out[i] = ranges(y)
		}
		return anyOf(coalesce(out, policy.EQ))
	case policy.And:
		out := make(policy.And, len(x))
		for i, y := range x {
			out[i] = ranges(y)
		}
		all := coalesce(out, policy.NE)
		if len(all) == 1 {
			return all[0]
		}
		return policy.And(all)
	}
	return e
}

// rangeKey is what the comparisons of one run share.
type rangeKey struct {
	arg  int
	mask uint64
}

// coalesce replaces, among xs, each run of minRun or more comparisons
// with op (EQ under ||, NE under &&) of one low word with consecutive
// values by the equivalent range check.
func coalesce(xs []policy.Expr, op policy.Op) []policy.Expr {
	values := map[rangeKey][]uint64{}
	for _, y := range xs {
		if c, ok := lowWordCmp(y, op); ok {
			k := rangeKey{c.Arg, c.Mask}
			values[k] = append(values[k], c.Value)
		}
	}
	// For each key, the run each value belongs to, when it is long enough.
	runOf := map[rangeKey]map[uint64][2]uint64{}
	for k, vs := range values {
		if len(vs) < minRun {
			continue
		}
		for _, r := range runs(vs) {
			if r[1]-r[0]+1 < minRun {
				continue
			}
			if runOf[k] == nil {
				runOf[k] = map[uint64][2]uint64{}
			}
			for v := r[0]; ; v++ {
				runOf[k][v] = r
				if v == r[1] {
					break
				}
			}
		}
	}
	if len(runOf) == 0 {
		return xs
	}
	done := map[rangeKey]map[[2]uint64]bool{}
	var out []policy.Expr
	for _, y := range xs {
		c, ok := lowWordCmp(y, op)
		if !ok {
			out = append(out, y)
			continue
		}
		k := rangeKey{c.Arg, c.Mask}
		r, inRun := runOf[k][c.Value]
		if !inRun {
			out = append(out, y)
			continue
		}
		if done[k][r] {
			continue
		}
		if done[k] == nil {
			done[k] = map[[2]uint64]bool{}
		}
		done[k][r] = true
		out = append(out, rangeCheck(c, r, op))
	}
	return out
}

// lowWordCmp reports whether e is a comparison with op of a low word alone
// whose value the mask can produce, and no parameter: a parameter's value
// is not known, so it is part of no run.
func lowWordCmp(e policy.Expr, op policy.Op) (policy.Cmp, bool) {
	c, ok := e.(policy.Cmp)
	if !ok || c.Op != op || c.Mask>>32 != 0 || c.Value&^c.Mask != 0 || c.Param != "" {
		return policy.Cmp{}, false
	}
	return c, true
}

// runs returns the maximal runs of consecutive values among vs, as
// [first, last] pairs.
func runs(vs []uint64) [][2]uint64 {
	s := append([]uint64(nil), vs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var out [][2]uint64
	for i, v := range s {
		switch {
		case i > 0 && v == s[i-1]:
		case len(out) > 0 && v == out[len(out)-1][1]+1:
			out[len(out)-1][1] = v
		default:
			out = append(out, [2]uint64{v, v})
		}
	}
	return out
}

// rangeCheck is lo <= a && a <= hi for op EQ, and its negation
// a < lo || a > hi for op NE, on c's argument word; a side the mask
// decides (lo is 0, or hi the largest value the mask allows) is left out.
func rangeCheck(c policy.Cmp, r [2]uint64, op policy.Op) policy.Expr {
	lower, upper := policy.GE, policy.LE
	if op == policy.NE {
		lower, upper = policy.LT, policy.GT
	}
	var sides []policy.Expr
	for _, side := range []policy.Cmp{
		{Arg: c.Arg, Mask: c.Mask, Op: lower, Value: r[0]},
		{Arg: c.Arg, Mask: c.Mask, Op: upper, Value: r[1]},
	} {
		if e := simplifyCmp(side); e != policy.Const(op == policy.EQ) {
			sides = append(sides, e)
		}
	}
	switch {
	case len(sides) == 0:
		return policy.Const(op == policy.EQ)
	case len(sides) == 1:
		return sides[0]
	case op == policy.EQ:
		return policy.And(sides)
	}
	return policy.Or(sides)
}
