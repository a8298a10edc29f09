package optimize

import (
	"math/bits"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// What is known, on a path, about the accumulator and the words of
// seccomp_data: the facts the threading passes decide jumps with.
//
// The words of seccomp_data never change while the filter runs, so a fact
// about one, learnt from a jump on an edge, holds from there to every
// return. A holds a word of seccomp_data, a constant, or a value of its own
// (after arithmetic); facts about that last one last until A is written.

// Slots: facts about word i of seccomp_data are in slot i; slotA holds
// facts about a value of A that is no word of seccomp_data.
const (
	dataWords = bpf.DataSize / 4
	slotA     = dataWords
)

// aKind says what A holds.
type aKind uint8

const (
	aOther aKind = iota // a value of its own: facts in slotA
	aWord               // the word of seccomp_data in slot v
	aConst              // the constant v
)

// aval is what A holds.
type aval struct {
	kind aKind
	v    uint32
}

// maxNe bounds the values a fact remembers A is not equal to.
const maxNe = 8

// fact is what is known about one 32-bit value: a range, bits known set
// and clear, and values it is not.
type fact struct {
	lo, hi      uint32
	ones, zeros uint32
	ne          [maxNe]uint32 // ne[:nne]
	nne         uint8
}

// anything is the fact that says nothing.
func anything() fact { return fact{hi: ^uint32(0)} }

// exactly is the fact v == c.
func exactly(c uint32) fact { return fact{lo: c, hi: c, ones: c, zeros: ^c} }

// decide returns the outcome of the jump code (a comparison with k) on a
// value the fact describes, and whether the fact decides it.
func (f fact) decide(code uint16, k uint32) (taken, ok bool) {
	switch code &^ bpf.SrcX {
	case bpf.ClassJMP | bpf.JmpJEQ:
		if f.lo == f.hi {
			return f.lo == k, true
		}
		if k < f.lo || k > f.hi || k&f.zeros != 0 || ^k&f.ones != 0 {
			return false, true
		}
		for _, v := range f.ne[:f.nne] {
			if v == k {
				return false, true
			}
		}
	case bpf.ClassJMP | bpf.JmpJGT:
		if f.lo > k {
			return true, true
		}
		if f.hi <= k {
			return false, true
		}
	case bpf.ClassJMP | bpf.JmpJGE:
		if f.lo >= k {
			return true, true
		}
		if f.hi < k {
			return false, true
		}
	case bpf.ClassJMP | bpf.JmpJSET:
		if k&f.ones != 0 {
			return true, true
		}
		if k&^f.zeros == 0 {
			return false, true
		}
	}
	return false, false
}

// learn returns the fact that also says the jump code (with k) went the
// way taken says, and false when no value can do that.
func (f fact) learn(code uint16, k uint32, taken bool) (fact, bool) {
	if got, ok := f.decide(code, k); ok {
		return f, got == taken
	}
	switch code &^ bpf.SrcX {
	case bpf.ClassJMP | bpf.JmpJEQ:
		if taken {
			return exactly(k), true
		}
		switch k {
		case f.lo:
			f.lo++
		case f.hi:
			f.hi--
		default:
			if f.nne < maxNe {
				f.ne[f.nne] = k
				f.nne++
			}
		}
	case bpf.ClassJMP | bpf.JmpJGT:
		if taken {
			f.lo = k + 1 // decide said lo <= k < hi
		} else {
			f.hi = k
		}
	case bpf.ClassJMP | bpf.JmpJGE:
		if taken {
			f.lo = k
		} else {
			f.hi = k - 1 // decide said lo < k
		}
	case bpf.ClassJMP | bpf.JmpJSET:
		if !taken {
			f.zeros |= k
		} else if bits.OnesCount32(k) == 1 {
			f.ones |= k
		}
	}
	return f, f.lo <= f.hi
}

// meet is what both f and g say: the fact of a join of two paths.
func meet(f, g fact) fact {
	m := fact{lo: min(f.lo, g.lo), hi: max(f.hi, g.hi), ones: f.ones & g.ones, zeros: f.zeros & g.zeros}
	for _, v := range f.ne[:f.nne] {
		if taken, ok := g.decide(bpf.ClassJMP|bpf.JmpJEQ, v); ok && !taken {
			m.ne[m.nne] = v
			m.nne++
		}
	}
	for _, v := range g.ne[:g.nne] {
		if taken, ok := f.decide(bpf.ClassJMP|bpf.JmpJEQ, v); ok && !taken && m.nne < maxNe && !contains(m.ne[:m.nne], v) {
			m.ne[m.nne] = v
			m.nne++
		}
	}
	return m
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// slotFact is the fact about one slot.
type slotFact struct {
	slot int
	f    fact
}

// state is what is known on an edge or before an instruction. Slots
// without a fact are unconstrained. The zero state is that of a path not
// (yet) known to reach anywhere: see reached.
type state struct {
	reached bool
	a       aval
	facts   []slotFact // ordered by slot; never modified in place
}

// start is the state at the first instruction. A is 0 there, as the
// kernel starts it, but the passes do not rely on that.
func start() state { return state{reached: true} }

func (s state) get(slot int) fact {
	for _, sf := range s.facts {
		if sf.slot == slot {
			return sf.f
		}
	}
	return anything()
}

// with returns s with the fact about slot replaced.
func (s state) with(slot int, f fact) state {
	out := make([]slotFact, 0, len(s.facts)+1)
	done := false
	for _, sf := range s.facts {
		switch {
		case sf.slot == slot:
			continue
		case sf.slot > slot && !done:
			out = append(out, slotFact{slot, f})
			done = true
		}
		out = append(out, sf)
	}
	if !done {
		out = append(out, slotFact{slot, f})
	}
	s.facts = out
	return s
}

// factA is what s knows of A's value.
func (s state) factA() fact {
	switch s.a.kind {
	case aConst:
		return exactly(s.a.v)
	case aWord:
		return s.get(int(s.a.v))
	}
	return s.get(slotA)
}

// decide is fact.decide on A.
func (s state) decide(code uint16, k uint32) (taken, ok bool) {
	return s.factA().decide(code, k)
}

// branch returns the state on the edge of the jump code (with k) that
// taken names; reached is false when no input takes it.
func (s state) branch(code uint16, k uint32, taken bool) state {
	old := s.factA()
	f, ok := old.learn(code, k, taken)
	if !ok {
		return state{}
	}
	if f.lo == old.lo && f.hi == old.hi && f.ones == old.ones && f.zeros == old.zeros && f.nne == old.nne {
		return s // nothing learnt: no copy
	}
	switch s.a.kind {
	case aWord:
		return s.with(int(s.a.v), f)
	case aOther:
		return s.with(slotA, f)
	}
	return s
}

// step returns the state after n, an instruction that is no jump.
func (s state) step(n node) state {
	switch {
	case isLoadAbs(n.code):
		s.a = aval{aWord, n.k / 4}
	case n.code == bpf.ClassLD|bpf.ModeIMM:
		s.a = aval{aConst, n.k}
	case n.code == bpf.ClassLD|bpf.SizeW|bpf.ModeLEN:
		s.a = aval{aConst, bpf.DataSize}
	case n.code&0x07 == bpf.ClassLD, n.code&0x07 == bpf.ClassALU, n.code == bpf.ClassMISC|bpf.MiscTXA:
		s.a = aval{kind: aOther}
		s = s.with(slotA, anything())
	}
	return s
}

// join is what both s and t say.
func join(s, t state) state {
	if !s.reached {
		return t
	}
	if !t.reached {
		return s
	}
	out := state{reached: true, a: s.a}
	var fa fact
	differ := s.a != t.a
	if differ {
		out.a = aval{kind: aOther}
		fa = meet(s.factA(), t.factA())
	}
	for _, sf := range s.facts {
		if sf.slot == slotA && (differ || s.a.kind != aOther) {
			continue
		}
		for _, tf := range t.facts {
			if tf.slot == sf.slot {
				out.facts = append(out.facts, slotFact{sf.slot, meet(sf.f, tf.f)})
			}
		}
	}
	if differ {
		out = out.with(slotA, fa)
	}
	return out
}

// analyze returns the state before each instruction: what every path
// from the start that reaches it knows; before a return, only whether
// one reaches it.
func analyze(q []node) []state {
	in := make([]state, len(q))
	if len(q) == 0 {
		return in
	}
	in[0] = start()
	// flow joins the state of an edge into its target's; a return needs
	// no more than to be reached, which saves the work on most edges.
	flow := func(to int, edge func() state) {
		if isRet(q[to].code) {
			in[to].reached = true
			return
		}
		in[to] = join(in[to], edge())
	}
	for pc, n := range q { // jumps go forward: one pass in order
		s := in[pc]
		if !s.reached {
			continue
		}
		switch {
		case isCondK(n.code):
			flow(n.jt, func() state { return s.branch(n.code, n.k, true) })
			flow(n.jf, func() state { return s.branch(n.code, n.k, false) })
		case isCond(n.code), isJA(n.code):
			flow(n.jt, func() state { return s })
			if isCond(n.code) {
				flow(n.jf, func() state { return s })
			}
		case isRet(n.code):
		default:
			flow(pc+1, func() state { return s.step(n) })
		}
	}
	return in
}
