package bpf

import (
	"fmt"
	"strconv"
)

// Label names a place in a program being built. Labels are resolved when
// the program is assembled; every jump must go forward to a label that is
// marked exactly once and is followed by an instruction.
type Label string

// Builder assembles a program from instructions and symbolic jumps. Jumps
// out of the 255-instruction reach of a conditional jump are rewritten
// through unconditional jumps (whose reach is 2^32) when the program is
// assembled, so code generators never count instructions.
type Builder struct {
	insns  []pending
	marks  map[Label]int // label -> index of the instruction it precedes
	nextID int
	err    error

	// acc is what the accumulator provably holds at the current point,
	// and into what it holds on each jump to a label not yet marked.
	acc  accState
	into map[Label]accState
}

// accState is what the accumulator holds: nothing known, a word of
// seccomp_data, or — at a point no instruction reaches — anything.
type accState struct {
	kind accKind
	off  uint32
}

type accKind uint8

const (
	accUnknown accKind = iota
	accWord            // A holds the word at off
	accUnreachable
)

// meet is what A holds where control arrives from two places.
func meet(a, b accState) accState {
	switch {
	case a.kind == accUnreachable:
		return b
	case b.kind == accUnreachable:
		return a
	case a == b:
		return a
	}
	return accState{kind: accUnknown}
}

// arrive records that control jumps to l with the current accumulator.
func (b *Builder) arrive(l Label) {
	if prev, ok := b.into[l]; ok {
		b.into[l] = meet(prev, b.acc)
	} else {
		b.into[l] = b.acc
	}
}

type pending struct {
	in Insn
	// For a conditional jump, jt and jf; for BPF_JA, jt only.
	jt, jf Label
	// farT and farF are set once a side has been found out of reach; they
	// only ever turn on, so assembly reaches a fixed point.
	farT, farF bool
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{marks: map[Label]int{}, into: map[Label]accState{}}
}

// NewLabel returns a label not used before in this builder. The prefix
// makes disassembly and errors readable.
func (b *Builder) NewLabel(prefix string) Label {
	b.nextID++
	return Label(prefix + "#" + strconv.Itoa(b.nextID))
}

// Mark places l before the next instruction added. Jumps only go forward,
// so every jump to l has been added by now, and what the accumulator holds
// here is known from them and from the instruction before.
func (b *Builder) Mark(l Label) {
	if _, dup := b.marks[l]; dup {
		b.fail(fmt.Errorf("label %s marked twice", l))
		return
	}
	b.marks[l] = len(b.insns)
	if in, ok := b.into[l]; ok {
		b.acc = meet(b.acc, in)
	}
}

// Len is the number of instructions added so far, before any long-jump
// rewriting.
func (b *Builder) Len() int { return len(b.insns) }

// Stmt adds a non-jump instruction.
func (b *Builder) Stmt(code uint16, k uint32) {
	if code&0x07 == ClassJMP {
		b.fail(fmt.Errorf("Stmt given jump opcode %#x; use JumpTo or JumpIf", code))
		return
	}
	b.insns = append(b.insns, pending{in: Stmt(code, k)})
	switch {
	case code&0x07 == ClassRET:
		b.acc = accState{kind: accUnreachable}
	case code == ClassLD|SizeW|ModeABS:
		b.acc = accState{kind: accWord, off: k}
	case code&0x07 == ClassLD || code&0x07 == ClassALU || code == ClassMISC|MiscTXA:
		b.acc = accState{kind: accUnknown}
	}
}

// LoadAbs adds `ld [off]`: a 32-bit word of seccomp_data. When the
// accumulator provably holds that word already, on every path that reaches
// this point, nothing is added.
func (b *Builder) LoadAbs(off uint32) {
	if b.acc == (accState{kind: accWord, off: off}) {
		return
	}
	b.Stmt(ClassLD|SizeW|ModeABS, off)
}

// AndK adds `and #k`.
func (b *Builder) AndK(k uint32) { b.Stmt(ClassALU|AluAND|SrcK, k) }

// Ret adds `ret #k`.
func (b *Builder) Ret(k uint32) { b.Stmt(ClassRET|RetK, k) }

// JumpTo adds an unconditional jump to l.
func (b *Builder) JumpTo(l Label) {
	b.insns = append(b.insns, pending{in: Stmt(ClassJMP|JmpJA, 0), jt: l})
	b.arrive(l)
	b.acc = accState{kind: accUnreachable}
}

// JumpIf adds a conditional jump comparing A with k: op is JmpJEQ, JmpJGT,
// JmpJGE or JmpJSET; control goes to t when the comparison holds and to f
// otherwise.
func (b *Builder) JumpIf(op uint16, k uint32, t, f Label) {
	switch op {
	case JmpJEQ, JmpJGT, JmpJGE, JmpJSET:
	default:
		b.fail(fmt.Errorf("JumpIf given operation %#x", op))
		return
	}
	b.insns = append(b.insns, pending{in: Jump(ClassJMP|op|SrcK, k, 0, 0), jt: t, jf: f})
	b.arrive(t)
	b.arrive(f)
	b.acc = accState{kind: accUnreachable}
}

// JumpIfParam adds a conditional jump comparing A with parameter number
// param, whose value is not known yet: op is as for JumpIf. It is encoded
// as the jump comparing A with X (which no program fencer compiles
// loads), with param as its constant, so that whatever reads the program
// treats the comparison as one with a value it does not know: the
// optimizer (internal/bpf/optimize) then neither decides it nor learns
// from it, and only merges code comparing with the same parameter. The
// compiler turns such jumps back into comparisons with constants once
// the values are known (compile.Parametric.Fill).
func (b *Builder) JumpIfParam(op uint16, param uint32, t, f Label) {
	b.JumpIf(op, param, t, f)
	if b.err == nil {
		b.insns[len(b.insns)-1].in.Code |= SrcX
	}
}

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func isCond(in Insn) bool { return in.Code&0x07 == ClassJMP && in.Code&0xf0 != JmpJA }
func isJA(in Insn) bool   { return in.Code&0x07 == ClassJMP && in.Code&0xf0 == JmpJA }

// size is the number of instructions p occupies once rewritten.
func (p *pending) size() int {
	n := 1
	if p.farT {
		n++
	}
	if p.farF {
		n++
	}
	return n
}

// Assemble resolves labels and returns the program. It fails on a label
// that is never marked, marked at the very end, or behind its jump.
func (b *Builder) Assemble() (Program, error) {
	if b.err != nil {
		return nil, b.err
	}
	for l, at := range b.marks {
		if at >= len(b.insns) {
			return nil, fmt.Errorf("label %s marks the end of the program, not an instruction", l)
		}
	}
	if prog, ok := b.assembleIslands(); ok {
		return prog, nil
	}
	// Islands did not settle: give every out-of-reach side a trampoline of
	// its own, right after its jump, which always works.
	addr, err := b.markFar()
	if err != nil {
		return nil, err
	}
	return b.emitTrampolines(addr)
}

// target is the index of the instruction label l marks, which the
// instruction at from jumps to.
func (b *Builder) target(from int, l Label) (int, error) {
	at, ok := b.marks[l]
	if !ok {
		return 0, fmt.Errorf("instruction %d jumps to label %s, which is never marked", from, l)
	}
	if at <= from {
		return 0, fmt.Errorf("instruction %d jumps backwards to label %s", from, l)
	}
	return at, nil
}

// markFar finds, to a fixed point, the conditional jumps whose targets are
// out of reach, and marks those sides far; it returns each instruction's
// address, with the trampolines of far sides counted. Each pass can only
// turn flags on, so it ends.
func (b *Builder) markFar() ([]int, error) {
	addr := make([]int, len(b.insns)+1)
	for {
		for i := range b.insns {
			addr[i+1] = addr[i] + b.insns[i].size()
		}
		changed := false
		for i := range b.insns {
			p := &b.insns[i]
			if !isCond(p.in) {
				continue
			}
			for _, side := range []struct {
				l   Label
				far *bool
			}{{p.jt, &p.farT}, {p.jf, &p.farF}} {
				if *side.far {
					continue
				}
				at, err := b.target(i, side.l)
				if err != nil {
					return nil, err
				}
				// Offset from the instruction after the conditional jump,
				// which may be a trampoline of this same jump.
				if addr[at]-(addr[i]+1) > 255 {
					*side.far = true
					changed = true
				}
			}
		}
		if !changed {
			return addr, nil
		}
	}
}

// emitTrampolines writes the program at the addresses markFar found, each
// far side of a conditional jump through a trampoline right after it.
func (b *Builder) emitTrampolines(addr []int) (Program, error) {
	prog := make(Program, 0, addr[len(b.insns)])
	for i := range b.insns {
		p := b.insns[i]
		here := addr[i]
		switch {
		case isJA(p.in):
			at, err := b.target(i, p.jt)
			if err != nil {
				return nil, err
			}
			prog = append(prog, Stmt(p.in.Code, uint32(addr[at]-(here+1))))
		case isCond(p.in):
			t, err := b.target(i, p.jt)
			if err != nil {
				return nil, err
			}
			f, err := b.target(i, p.jf)
			if err != nil {
				return nil, err
			}
			// Far sides go through trampolines placed right after the
			// jump: `ja T` first, then `ja F`.
			in := p.in
			in.Jt = uint8(addr[t] - (here + 1))
			in.Jf = uint8(addr[f] - (here + 1))
			slot := 0
			if p.farT {
				in.Jt = uint8(slot)
				slot++
			}
			if p.farF {
				in.Jf = uint8(slot)
			}
			prog = append(prog, in)
			if p.farT {
				prog = append(prog, Stmt(ClassJMP|JmpJA, uint32(addr[t]-(len(prog)+1))))
			}
			if p.farF {
				prog = append(prog, Stmt(ClassJMP|JmpJA, uint32(addr[f]-(len(prog)+1))))
			}
		default:
			prog = append(prog, p.in)
		}
	}
	return prog, nil
}
