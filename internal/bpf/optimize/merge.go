package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// MergeTails keeps one copy of identical code: two places from which the
// same instructions run, to the same returns, whatever the input, are one
// class, and a jump to a place goes to the last place of its class that
// it reaches, so that the earlier copies fall dead (RemoveDeadCode
// deletes them). This merges the blocks of syscalls with equal conditions
// (read, close and sendto of examples/metrics run one 4-instruction
// block), and equal returns.
//
// Classes are found from the end: the class of an instruction is that of
// its code, constant and the classes of its successors, so one pass
// hashes the whole program. A `ja` is a class of its own (with its
// target's class), not its target's: two places of one class run the same
// number of instructions, so a jump never runs more for being moved
// (ThreadJumps and SharedReturns take the `ja` out of the way).
func MergeTails(p bpf.Program) (bpf.Program, bool) { return rewrite(p, mergeTails) }

func mergeTails(q []node) ([]node, bool) {
	class := classes(q)
	// members[c]: the pcs of class c, ascending.
	members := make([][]int, len(q)) // class numbers are below len(q)
	for pc := range q {
		members[class[pc]] = append(members[class[pc]], pc)
	}
	best := func(pc int, code uint16, t int) int {
		m := members[class[t]]
		for i := len(m) - 1; i >= 0 && m[i] > t; i-- {
			if inReach(code, pc, m[i]) {
				return m[i]
			}
		}
		return t
	}
	changed := false
	for pc := range q {
		n := &q[pc]
		switch {
		case isJA(n.code):
			changed = retarget(&n.jt, best(pc, n.code, n.jt)) || changed
		case isCond(n.code):
			changed = retarget(&n.jt, best(pc, n.code, n.jt)) || changed
			changed = retarget(&n.jf, best(pc, n.code, n.jf)) || changed
		}
	}
	return q, changed
}

// classKey is what makes two instructions of one class: the same
// instruction with successors of the same classes (-1 where there is
// none).
type classKey struct {
	code   uint16
	k      uint32
	jt, jf int
}

// classes numbers the instructions so that two with the same number run
// the same instructions from there on, whatever the input.
func classes(q []node) []int {
	class := make([]int, len(q))
	ids := make(map[classKey]int, len(q))
	for pc := len(q) - 1; pc >= 0; pc-- {
		n := q[pc]
		key := classKey{code: n.code, k: n.k, jt: -1, jf: -1}
		switch {
		case isJA(n.code):
			key.jt = class[n.jt]
		case isCond(n.code):
			key.jt, key.jf = class[n.jt], class[n.jf]
		case isRet(n.code):
		default:
			key.jt = class[pc+1]
		}
		id, ok := ids[key]
		if !ok {
			id = len(ids)
			ids[key] = id
		}
		class[pc] = id
	}
	return class
}
