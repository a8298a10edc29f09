package compile

import (
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

// TestLowerLinear lowers n and 2n rules on one syscall, alternating
// between two actions in runs and all with one action, and requires the
// simplifier to visit at most about twice as many nodes for 2n: lowering
// that re-simplified the growing || of a group at each rule would visit
// four times as many.
func TestLowerLinear(t *testing.T) {
	a := testArches[0]
	rules := func(n, run int) *policy.Filter {
		f := &policy.Filter{Service: "big", Arch: a.name, AuditArch: a.audit, Order: a.order, Default: policy.ActKillProcess}
		for v := 0; v < n; v++ {
			act := policy.ActAllow
			if (v/run)%2 == 1 {
				act = policy.Action{Kind: policy.Errno, Data: 1}
			}
			when := policy.Expr(policy.Cmp{Arg: v % 6, Mask: 0xffffffff, Op: policy.EQ, Value: uint64(v * 3)})
			if v%3 == 0 {
				when = policy.And{when, policy.Not{X: policy.Cmp{Arg: 1, Mask: ^uint64(0), Op: policy.GT, Value: uint64(v)}}}
			}
			f.Rules = append(f.Rules, policy.Rule{Name: "r", Nr: 1, When: when, Action: act})
		}
		return f
	}
	visits := func(f *policy.Filter) int {
		s := &simplifier{}
		decs, err := s.lower(f)
		if err != nil || len(decs) != 1 {
			t.Fatalf("lower: %v, %d decisions", err, len(decs))
		}
		return s.visits
	}
	for _, run := range []int{1 << 30, 500} {
		const n = 2000
		one, two := visits(rules(n, run)), visits(rules(2*n, run))
		if two > 2*one+10 {
			t.Errorf("runs of %d rules with one action: %d rules take %d visits, %d take %d: more than linear", run, n, one, 2*n, two)
		}
	}
}
