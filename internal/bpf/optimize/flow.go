package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// node is an instruction with its jump targets as absolute pcs, which the
// passes rewrite freely; encode turns them back into offsets.
type node struct {
	code uint16
	k    uint32 // ja's offset is in jt instead
	// jt and jf are the targets of a conditional jump, jt alone that of
	// ja; unused otherwise.
	jt, jf int
}

// maxCondOffset is how far a conditional jump reaches: its offsets are
// 8 bits.
const maxCondOffset = 255

func isCond(code uint16) bool {
	if code&0x07 != bpf.ClassJMP {
		return false
	}
	switch code &^ bpf.SrcX {
	case bpf.ClassJMP | bpf.JmpJEQ, bpf.ClassJMP | bpf.JmpJGT,
		bpf.ClassJMP | bpf.JmpJGE, bpf.ClassJMP | bpf.JmpJSET:
		return true
	}
	return false
}

func isJA(code uint16) bool  { return code == bpf.ClassJMP|bpf.JmpJA }
func isRet(code uint16) bool { return code&0x07 == bpf.ClassRET }

// isCondK reports a conditional jump comparing A with its constant.
func isCondK(code uint16) bool { return isCond(code) && code&bpf.SrcX == 0 }

func isLoadAbs(code uint16) bool { return code == bpf.ClassLD|bpf.SizeW|bpf.ModeABS }

// decode gives p's instructions absolute targets.
func decode(p bpf.Program) []node {
	q := make([]node, len(p))
	for pc, in := range p {
		n := node{code: in.Code, k: in.K}
		switch {
		case isJA(in.Code):
			n.k, n.jt = 0, pc+1+int(in.K)
		case isCond(in.Code):
			n.jt, n.jf = pc+1+int(in.Jt), pc+1+int(in.Jf)
		}
		q[pc] = n
	}
	return q
}

// encode turns absolute targets back into offsets. It reports false when
// a jump does not go forward or a conditional one is out of reach, which
// the passes avoid (see inReach): the caller then keeps the program it
// had.
func encode(q []node) (bpf.Program, bool) {
	p := make(bpf.Program, len(q))
	for pc, n := range q {
		in := bpf.Insn{Code: n.code, K: n.k}
		switch {
		case isJA(n.code):
			if n.jt <= pc || n.jt >= len(q) {
				return nil, false
			}
			in.K = uint32(n.jt - pc - 1)
		case isCond(n.code):
			if !inReach(n.code, pc, n.jt) || !inReach(n.code, pc, n.jf) || n.jt >= len(q) || n.jf >= len(q) {
				return nil, false
			}
			in.Jt, in.Jf = uint8(n.jt-pc-1), uint8(n.jf-pc-1)
		}
		p[pc] = in
	}
	return p, true
}

// inReach reports whether a jump of the given code at pc can reach
// target: forward, and within 255 instructions for a conditional jump.
// Passes check it before they retarget; removing instructions afterwards
// only brings targets closer.
func inReach(code uint16, pc, target int) bool {
	if target <= pc {
		return false
	}
	return !isCond(code) || target-pc-1 <= maxCondOffset
}

// rewrite runs f over p's instructions with absolute targets, and encodes
// the result when f reports a change.
func rewrite(p bpf.Program, f func(q []node) ([]node, bool)) (bpf.Program, bool) {
	q, changed := f(decode(p))
	if !changed {
		return p, false
	}
	out, ok := encode(q)
	if !ok {
		return p, false
	}
	return out, true
}

// compact removes the instructions drop marks. A dropped instruction must
// be one execution may skip: unreachable, or one whose effect is nothing
// (a jump to the next instruction, a load of what A already holds): a
// jump to it goes to the first kept instruction after it.
func compact(q []node, drop []bool) []node {
	next := make([]int, len(q)+1) // next[i]: new pc of the first kept at or after i
	kept := 0
	for i := range q {
		if !drop[i] {
			kept++
		}
	}
	next[len(q)] = kept
	for i := len(q) - 1; i >= 0; i-- {
		next[i] = next[i+1]
		if !drop[i] {
			next[i]--
		}
	}
	out := make([]node, 0, kept)
	for i, n := range q {
		if drop[i] {
			continue
		}
		if isJA(n.code) || isCond(n.code) {
			n.jt = next[n.jt]
			if isCond(n.code) {
				n.jf = next[n.jf]
			}
		}
		out = append(out, n)
	}
	return out
}

// successors lists where execution goes after pc: its targets for a
// jump, none for a return, the next instruction otherwise.
func successors(q []node, pc int) []int {
	n := q[pc]
	switch {
	case isJA(n.code):
		return []int{n.jt}
	case isCond(n.code):
		return []int{n.jt, n.jf}
	case isRet(n.code):
		return nil
	}
	return []int{pc + 1}
}

// reachable marks the instructions some path from the start reaches.
func reachable(q []node) []bool {
	seen := make([]bool, len(q))
	if len(q) == 0 {
		return seen
	}
	seen[0] = true
	for pc := range q { // jumps go forward: one pass in order
		if !seen[pc] {
			continue
		}
		for _, s := range successors(q, pc) {
			if s < len(q) {
				seen[s] = true
			}
		}
	}
	return seen
}

// liveA marks the instructions before which the value of A matters: some
// path from there reads A before it writes it.
func liveA(q []node) []bool {
	live := make([]bool, len(q)+1)
	for pc := len(q) - 1; pc >= 0; pc-- {
		n := q[pc]
		switch {
		case isJA(n.code):
			live[pc] = live[n.jt]
		case isCond(n.code):
			live[pc] = true
		case n.code == bpf.ClassRET|bpf.RetK:
			live[pc] = false
		case n.code == bpf.ClassRET|bpf.RetA:
			live[pc] = true
		case n.code&0x07 == bpf.ClassLD, n.code == bpf.ClassMISC|bpf.MiscTXA:
			live[pc] = false // A is overwritten without being read
		case n.code&0x07 == bpf.ClassLDX, n.code == bpf.ClassSTX:
			live[pc] = live[pc+1]
		default: // ALU, st, tax read A
			live[pc] = true
		}
	}
	return live[:len(q)]
}
