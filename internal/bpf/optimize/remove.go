package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// RemoveDeadCode deletes the instructions no path from the start reaches,
// the jumps that go to the next instruction either way (`ja +0`, a
// conditional jump with both offsets 0), and turns a conditional jump
// whose two targets are the same into a `ja`.
func RemoveDeadCode(p bpf.Program) (bpf.Program, bool) { return rewrite(p, removeDeadCode) }

func removeDeadCode(q []node) ([]node, bool) {
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
}

// RemoveRedundantLoads deletes a load into A of what A already holds on
// every path that reaches it: `ld [k]` after `ld [k]` with only jumps
// between, `ld #k` where A is k. When there is none, it deletes the
// loads whose value nothing reads. (Not both at once: a load that makes
// a later one redundant is also one whose value nothing reads, since the
// later one overwrites it.)
func RemoveRedundantLoads(p bpf.Program) (bpf.Program, bool) { return rewrite(p, removeRedundantLoads) }

func removeRedundantLoads(q []node) ([]node, bool) {
	in, reached := analyzeA(q)
	drop := make([]bool, len(q))
	changed := false
	for pc, n := range q {
		if !reached[pc] || pc == len(q)-1 {
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
		if in[pc] == loads {
			drop[pc] = true
			changed = true
		}
	}
	if !changed {
		return removeDeadLoads(q)
	}
	return compact(q, drop), true
}

// removeDeadLoads deletes the loads into A whose value nothing reads.
func removeDeadLoads(q []node) ([]node, bool) {
	live := liveA(q)
	drop := make([]bool, len(q))
	changed := false
	for pc, n := range q {
		if pc < len(q)-1 && (isLoadAbs(n.code) || n.code == bpf.ClassLD|bpf.ModeIMM) && !live[pc+1] {
			drop[pc] = true
			changed = true
		}
	}
	if !changed {
		return q, false
	}
	return compact(q, drop), true
}

// SharedReturns puts returns where they are cheapest: a `ja` to a return
// becomes that return (one instruction fewer run, none more in the
// program), and a conditional jump to a return goes to the last equal
// return within its reach, so that equal returns merge and the others
// fall dead.
func SharedReturns(p bpf.Program) (bpf.Program, bool) { return rewrite(p, sharedReturns) }

func sharedReturns(q []node) ([]node, bool) {
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

// analyzeA returns what A holds before each instruction on every path
// that reaches it (analyze without the facts), and which are reached.
func analyzeA(q []node) ([]aval, []bool) {
	in := make([]aval, len(q))
	reached := make([]bool, len(q))
	if len(q) == 0 {
		return in, reached
	}
	reached[0] = true
	flow := func(to int, a aval) {
		switch {
		case !reached[to]:
			in[to], reached[to] = a, true
		case in[to] != a:
			in[to] = aval{kind: aOther}
		}
	}
	for pc, n := range q { // jumps go forward: one pass in order
		if !reached[pc] {
			continue
		}
		switch {
		case isJA(n.code):
			flow(n.jt, in[pc])
		case isCond(n.code):
			flow(n.jt, in[pc])
			flow(n.jf, in[pc])
		case isRet(n.code):
		default:
			flow(pc+1, state{a: in[pc]}.step(n).a)
		}
	}
	return in, reached
}
