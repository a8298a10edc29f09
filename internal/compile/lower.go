package compile

import (
	"sort"

	"github.com/fencer-dev/fencer/internal/policy"
)

// group is one action and the condition under which a syscall gets it.
type group struct {
	action policy.Action
	when   policy.Expr
	// rules names the rule each alternative of when (an ||) comes from,
	// or, when when is not an ||, the one rule it comes from.
	rules []string
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
	return (&simplifier{}).lower(f)
}

// simplifier simplifies conditions and counts the nodes it visits, which
// tests use to see that lowering takes time linear in the rules.
type simplifier struct {
	visits int
}

func (s *simplifier) lower(f *policy.Filter) ([]decision, error) {
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
			decs = append(decs, decision{nr: nr, groups: []group{{action: policy.ActExecOnce, when: policy.Const(true), rules: []string{"exec once"}}}})
			continue
		}
		rules := byNr[nr]
		sort.SliceStable(rules, func(i, j int) bool {
			return rules[i].Action.Precedence() > rules[j].Action.Precedence()
		})
		groups := s.groups(rules)
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

// groups merges neighbouring rules with the same action into one group
// each, whose condition is the || of theirs. Each rule's condition is
// simplified once and the alternatives are gathered before the || is
// built, so that a syscall with n rules costs time linear in n, not the
// n² of re-simplifying a growing ||.
func (s *simplifier) groups(rules []policy.Rule) []group {
	var groups []group
	var alts [][]policy.Expr // each group's alternatives, flattened
	for _, r := range rules {
		when := ranges(s.simplify(r.When))
		if when == policy.Const(false) {
			continue
		}
		n := len(groups)
		if n == 0 || groups[n-1].action != r.Action {
			groups = append(groups, group{action: r.Action})
			alts = append(alts, nil)
			n++
		}
		alts[n-1], groups[n-1].rules = appendAlt(alts[n-1], groups[n-1].rules, when, r.Name)
	}
	for i := range groups {
		groups[i].when = anyOf(alts[i])
	}
	return groups
}

// appendAlt adds a simplified condition of the rule named name to
// alternatives and their rules: an || is flattened, and once one
// alternative is true the rest do not matter.
func appendAlt(alts []policy.Expr, rules []string, e policy.Expr, name string) ([]policy.Expr, []string) {
	if len(alts) == 1 && alts[0] == policy.Const(true) {
		return alts, rules
	}
	switch x := e.(type) {
	case policy.Const:
		if x {
			return []policy.Expr{x}, []string{name}
		}
		return alts, rules
	case policy.Or:
		for range x {
			rules = append(rules, name)
		}
		return append(alts, x...), rules
	}
	return append(alts, e), append(rules, name)
}

// anyOf is the || of simplified alternatives, simplified.
func anyOf(alts []policy.Expr) policy.Expr {
	switch len(alts) {
	case 0:
		return policy.Const(false)
	case 1:
		return alts[0]
	}
	return policy.Or(alts)
}

// simplify folds constants out of a condition without changing its
// meaning: comparisons whose outcome the mask decides, empty and constant
// operands of && and ||, and double negation.
func (s *simplifier) simplify(e policy.Expr) policy.Expr {
	s.visits++
	switch x := e.(type) {
	case policy.Cmp:
		return simplifyCmp(x)
	case policy.Not:
		switch y := s.simplify(x.X).(type) {
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
			switch z := s.simplify(y).(type) {
			case policy.Const:
				if !z {
					return policy.Const(false)
				}
			case policy.And:
				out = append(out, z...)
			default:
				out = append(out, z)
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
			switch z := s.simplify(y).(type) {
			case policy.Const:
				if z {
					return policy.Const(true)
				}
			case policy.Or:
				out = append(out, z...)
			default:
				out = append(out, z)
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
// (policy.Cmp.Decided), but never one with a parameter.
func simplifyCmp(c policy.Cmp) policy.Expr {
	if c.Param != "" {
		return c // its value is not known: see Parametric
	}
	if always, ok := c.Decided(); ok {
		return policy.Const(always)
	}
	return c
}
