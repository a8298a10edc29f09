package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// maxFollow bounds how many instructions a threaded edge may skip at
// once; the fixed point goes on from there.
const maxFollow = 256

// ThreadJumps sends a jump straight to where it ends up: past a `ja`, and
// past a conditional jump whose outcome the edge already decides because
// it compares the same A (a `jeq #5` whose false edge leads to another
// `jeq #5` skips it, to that jump's false target). It works on each edge
// alone, with what that edge's own jump says; ThreadKnownValues also uses
// what every path says. A conditional jump is retargeted only within its
// reach of 255 instructions.
func ThreadJumps(p bpf.Program) (bpf.Program, bool) { return rewrite(p, threadJumps) }

func threadJumps(q []node) ([]node, bool) {
	changed := false
	for pc := range q {
		n := &q[pc]
		switch {
		case isJA(n.code):
			changed = retarget(&n.jt, follow(q, pc, n.code, n.jt, start(), nil, false)) || changed
		case isCondK(n.code):
			t := follow(q, pc, n.code, n.jt, start().with(slotA, anything()).branch(n.code, n.k, true), nil, false)
			f := follow(q, pc, n.code, n.jf, start().with(slotA, anything()).branch(n.code, n.k, false), nil, false)
			changed = retarget(&n.jt, t) || changed
			changed = retarget(&n.jf, f) || changed
		case isCond(n.code):
			changed = retarget(&n.jt, follow(q, pc, n.code, n.jt, start(), nil, false)) || changed
			changed = retarget(&n.jf, follow(q, pc, n.code, n.jf, start(), nil, false)) || changed
		}
	}
	return q, changed
}

// ThreadKnownValues threads edges with what every path to them knows:
// what A holds, and facts about each word of seccomp_data (equal to k, not
// equal to k, a range from jgt and jge, bits from jset). An edge into
// `ld [W]; jxx #k` whose facts about W decide the jump goes straight to
// the jump's outcome, provided A there holds what it would have (the same
// word) or is not read before it is written. This is what hoists the
// check of a 64-bit argument's high word shared by several comparisons:
// after the first `ld [high]; jeq #0`, the others are skipped.
//
// Retargeting an edge whose A differs from what the skipped loads would
// have put there makes the analysis stale past the new target, so the
// pass stops threading edges that leave from there; the fixed point
// resumes with a fresh analysis.
func ThreadKnownValues(p bpf.Program) (bpf.Program, bool) { return rewrite(p, threadKnownValues) }

func threadKnownValues(q []node) ([]node, bool) {
	in := analyze(q)
	live := liveA(q)
	changed := false
	stale := len(q)
	for pc := 0; pc < stale; pc++ {
		n := &q[pc]
		s := in[pc]
		if !s.reached || !(isJA(n.code) || isCond(n.code)) {
			continue
		}
		edges := []*int{&n.jt}
		states := []state{s}
		switch {
		case isCondK(n.code):
			edges = append(edges, &n.jf)
			states = []state{s.branch(n.code, n.k, true), s.branch(n.code, n.k, false)}
		case isCond(n.code):
			edges = append(edges, &n.jf)
			states = append(states, s)
		}
		for i, e := range edges {
			if !states[i].reached {
				continue
			}
			to := follow(q, pc, n.code, *e, states[i], live, true)
			if to != *e && followedA(q, *e, to, states[i]) != states[i].a {
				stale = min(stale, to)
			}
			changed = retarget(e, to) || changed
		}
	}
	return q, changed
}

// retarget sets *target to to, reporting whether it changed.
func retarget(target *int, to int) bool {
	if *target == to {
		return false
	}
	*target = to
	return true
}

// follow walks from t, the target of an edge from the jump at pc whose
// state is s, past what needs no running: a `ja`, a conditional jump the
// facts decide, and, when loads is set, loads of seccomp_data words and
// constants into A. It returns the farthest pc it reached to which the
// jump can go instead of t: within the jump's reach, and where A holds
// what it would have, or is not live (live nil: no loads were skipped, so
// A is the same).
func follow(q []node, pc int, code uint16, t int, s state, live []bool, loads bool) int {
	edgeA := s.a
	best, pos := t, t
	for range maxFollow {
		n := q[pos]
		switch {
		case isJA(n.code):
			pos = n.jt
		case isCondK(n.code):
			var ok bool
			if pos, s, ok = decided(n, s); !ok {
				return best
			}
		case loads && (isLoadAbs(n.code) || n.code == bpf.ClassLD|bpf.ModeIMM):
			s = s.step(n)
			pos++
		default:
			return best
		}
		if !inReach(code, pc, pos) {
			return best // what follows is farther still
		}
		if s.a == edgeA || live == nil || !live[pos] {
			best = pos
		}
	}
	return best
}

// followedA is what A holds at to when execution goes from t to to the
// way follow walked, on an edge of state s.
func followedA(q []node, t, to int, s state) aval {
	for pos := t; pos < to; {
		n := q[pos]
		switch {
		case isJA(n.code):
			pos = n.jt
		case isCondK(n.code):
			pos, s, _ = decided(n, s)
		default:
			s = s.step(n)
			pos++
		}
	}
	return s.a
}

// decided returns where the conditional jump n goes on an edge of state
// s and the state there, when s decides the jump.
func decided(n node, s state) (int, state, bool) {
	taken, ok := s.decide(n.code, n.k)
	if !ok {
		return 0, s, false
	}
	if taken {
		return n.jt, s.branch(n.code, n.k, true), true
	}
	return n.jf, s.branch(n.code, n.k, false), true
}
