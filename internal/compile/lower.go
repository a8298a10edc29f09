package compile

import (
	"sort"

	"github.com/fencer-dev/fencer/internal/policy"
)

// group is one action and the condition under which a syscall gets it.
type group struct {
	action policy.Action
	when   policy.Expr
}

// decision is everything the filter does for one syscall number: the
// groups are tried in order and the first whose condition holds gives the
// action; when none holds, the default action applies.
type decision struct {
	nr     uint32
	groups []group
}

// unconditional reports whether the syscall's action never depends on its
// arguments.
func (d decision) unconditional() bool {
	return len(d.groups) == 1 && d.groups[0].when == policy.Const(true)
}

// lower turns the rules into one decision per syscall number, ascending,
// with the policy's meaning (policy.Filter.Decide): the most restrictive
// action among the rules that hold wins, the first declared among rules of
// equal precedence. Rules are ordered by precedence (stably, so
// declaration order stays within a precedence), neighbours with the same
// action merge into one group, groups that can never hold or that follow
// one that always holds are dropped, and so are trailing groups whose
// action is the default anyway. A syscall behind the exec-once gate gets
// ExecOnce whatever its arguments, and its rules, if any, are never
// consulted.
func lower(f *policy.Filter) ([]decision, error) {
	gated := map[uint32]bool{}
	for _, nr := range f.ExecOnce {
		gated[nr] = true
	}
	byNr := map[uint32][]policy.Rule{}
	for _, r := range f.Rules {
		byNr[r.Nr] = append(byNr[r.Nr], r)
	}
	for nr := range gated {
		byNr[nr] = nil
	}
	nrs := make([]uint32, 0, len(byNr))
	for nr := range byNr {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })

	var decs []decision
	for _, nr := range nrs {
		if gated[nr] {
			decs = append(decs, decision{nr: nr, groups: []group{{action: policy.ActExecOnce, when: policy.Const(true)}}})
			continue
		}
		rules := byNr[nr]
		sort.SliceStable(rules, func(i, j int) bool {
			return rules[i].Action.Precedence() > rules[j].Action.Precedence()
		})
		var groups []group
		for _, r := range rules {
			when := simplify(r.When)
			if when == policy.Const(false) {
				continue
			}
			if n := len(groups); n > 0 && groups[n-1].action == r.Action {
				groups[n-1].when = simplify(policy.Or{groups[n-1].when, when})
				continue
			}
			groups = append(groups, group{action: r.Action, when: when})
		}
		// Nothing after a group that always holds is ever reached.
		for i, g := range groups {
			if g.when == policy.Const(true) {
				groups = groups[:i+1]
				break
			}
		}
		for len(groups) > 0 && groups[len(groups)-1].action == f.Default {
			groups = groups[:len(groups)-1]
		}
		if len(groups) > 0 {
			decs = append(decs, decision{nr: nr, groups: groups})
		}
	}
	return decs, nil
}

// simplify folds constants out of a condition without changing its
// meaning: comparisons whose outcome the mask decides, empty and constant
// operands of && and ||, and double negation.
func simplify(e policy.Expr) policy.Expr {
	switch x := e.(type) {
	case policy.Cmp:
		return simplifyCmp(x)
	case policy.Not:
		switch y := simplify(x.X).(type) {
		case policy.Const:
			return !y
		case policy.Not:
			return y.X
		default:
			return policy.Not{X: y}
		}
	case policy.And:
		var out policy.And
		for _, y := range x {
			switch s := simplify(y).(type) {
			case policy.Const:
				if !s {
					return policy.Const(false)
				}
			case policy.And:
				out = append(out, s...)
			default:
				out = append(out, s)
			}
		}
		switch len(out) {
		case 0:
			return policy.Const(true)
		case 1:
			return out[0]
		}
		return out
	case policy.Or:
		var out policy.Or
		for _, y := range x {
			switch s := simplify(y).(type) {
			case policy.Const:
				if s {
					return policy.Const(true)
				}
			case policy.Or:
				out = append(out, s...)
			default:
				out = append(out, s)
			}
		}
		switch len(out) {
		case 0:
			return policy.Const(false)
		case 1:
			return out[0]
		}
		return out
	}
	return e
}

// simplifyCmp decides comparisons that hold or fail whatever the argument
// (policy.Cmp.Decided).
func simplifyCmp(c policy.Cmp) policy.Expr {
	if always, ok := c.Decided(); ok {
		return policy.Const(always)
	}
	return c
}
