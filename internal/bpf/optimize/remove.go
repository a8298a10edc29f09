package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// RemoveDeadCode deletes the instructions no path from the start reaches,
// the jumps that go to the next instruction either way (`ja +0`, a
// conditional jump with both offsets 0), and turns a conditional jump
// whose two targets are the same into a `ja`.
func RemoveDeadCode(p bpf.Program) (bpf.Program, bool) {
	return rewrite(p, func(q []node) ([]node, bool) {
		changed := false
		for pc := range q {
			n := &q[pc]
			if isCond(n.code) && n.jt == n.jf {
				*n = node{code: bpf.ClassJMP | bpf.JmpJA, jt: n.jt}
				changed = true
			}
		}
		seen := reachable(q)
		drop := make([]bool, len(q))
		for pc, n := range q {
			if !seen[pc] || isJA(n.code) && n.jt == pc+1 {
				drop[pc] = true
				changed = true
			}
		}
		if !changed {
			return q, false
		}
		return compact(q, drop), true
	})
}

// RemoveRedundantLoads deletes a load into A of what A already holds on
// every path that reaches it: `ld [k]` after `ld [k]` with only jumps
// between, `ld #k` where A is k.
func RemoveRedundantLoads(p bpf.Program) (bpf.Program, bool) {
	return rewrite(p, func(q []node) ([]node, bool) {
		in := analyze(q)
		drop := make([]bool, len(q))
		changed := false
		for pc, n := range q {
			if !in[pc].reached || pc == len(q)-1 {
				continue
			}
			var loads aval
			switch {
			case isLoadAbs(n.code):
				loads = aval{aWord, n.k / 4}
			case n.code == bpf.ClassLD|bpf.ModeIMM:
				loads = aval{aConst, n.k}
			default:
				continue
			}
			if in[pc].a == loads {
				drop[pc] = true
				changed = true
			}
		}
		if !changed {
			return q, false
		}
		return compact(q, drop), true
	})
}

// SharedReturns puts returns where they are cheapest: a `ja` to a return
// becomes that return (one instruction fewer run, none more in the
// program), and a conditional jump to a return goes to the last equal
// return within its reach, so that equal returns merge and the others
// fall dead.
func SharedReturns(p bpf.Program) (bpf.Program, bool) {
	return rewrite(p, func(q []node) ([]node, bool) {
		changed := false
		for pc := range q {
			n := &q[pc]
			switch {
			case isJA(n.code) && isRet(q[n.jt].code):
				*n = q[n.jt]
				changed = true
			case isCond(n.code):
				changed = retarget(&n.jt, lastEqualRet(q, pc, n.jt)) || changed
				changed = retarget(&n.jf, lastEqualRet(q, pc, n.jf)) || changed
			}
		}
		return q, changed
	})
}

// lastEqualRet returns the last return equal to the one at t (t itself
// when t is no return) that the conditional jump at pc reaches.
func lastEqualRet(q []node, pc, t int) int {
	if !isRet(q[t].code) {
		return t
	}
	for to := min(len(q)-1, pc+1+maxCondOffset); to > t; to-- {
		if q[to] == q[t] {
			return to
		}
	}
	return t
}
