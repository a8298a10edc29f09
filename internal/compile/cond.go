package compile

import (
	"fmt"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// cond emits code that jumps to t when e holds and to f when it does not.
// Every path through the emitted code ends in a jump to t or f, and each
// comparison loads the word it needs first, so the code assumes nothing
// about the accumulator on entry.
func (g *gen) cond(e policy.Expr, t, f bpf.Label) {
	switch x := e.(type) {
	case policy.Const:
		if x {
			g.b.JumpTo(t)
		} else {
			g.b.JumpTo(f)
		}
	case policy.Not:
		g.cond(x.X, f, t)
	case policy.And:
		for i, y := range x {
			if i == len(x)-1 {
				g.cond(y, t, f)
				break
			}
			next := g.b.NewLabel("and")
			g.cond(y, next, f)
			g.b.Mark(next)
		}
		if len(x) == 0 {
			g.b.JumpTo(t)
		}
	case policy.Or:
		for i, y := range x {
			if i == len(x)-1 {
				g.cond(y, t, f)
				break
			}
			next := g.b.NewLabel("or")
			g.cond(y, t, next)
			g.b.Mark(next)
		}
		if len(x) == 0 {
			g.b.JumpTo(f)
		}
	case policy.Cmp:
		g.cmp(x, t, f)
	default:
		panic(fmt.Sprintf("compile: unknown condition %T", e))
	}
}

// word is one 32-bit half of a masked 64-bit comparison.
type word struct {
	off  uint32 // offset of the argument word in seccomp_data
	mask uint32
	v    uint32
	// param is 1 + the index of the parameter the word is compared with
	// (v is then unknown), 0 when it is compared with v.
	param uint32
}

// jump emits the final comparison of w: with its value, or its parameter.
func (g *gen) jump(op uint16, w word, t, f bpf.Label) {
	if w.param != 0 {
		g.b.JumpIfParam(op, w.param-1, t, f)
		return
	}
	g.b.JumpIf(op, w.v, t, f)
}

// load emits `ld [off]` and, unless the mask keeps every bit, `and #mask`.
func (g *gen) load(w word) {
	g.b.LoadAbs(w.off)
	if w.mask != 0xffffffff {
		g.b.AndK(w.mask)
	}
}

// cmp emits (arg & mask) op value over the two words of the argument. A
// half whose mask is zero is known to be zero and is not loaded, which is
// how 32-bit arguments end up compared on their low word only.
func (g *gen) cmp(c policy.Cmp, t, f bpf.Label) {
	hi := word{off: bpf.ArgHigh(c.Arg, g.order), mask: uint32(c.Mask >> 32), v: uint32(c.Value >> 32)}
	lo := word{off: bpf.ArgLow(c.Arg, g.order), mask: uint32(c.Mask), v: uint32(c.Value)}
	if c.Param != "" {
		// A parameter is a 32-bit value (checkParams): the high word is
		// compared with 0, the low one with the parameter.
		hi.v, lo.param = 0, g.params[c.Param]
	}
	switch c.Op {
	case policy.EQ:
		g.eq(hi, lo, t, f)
	case policy.NE:
		g.eq(hi, lo, f, t)
	case policy.GT:
		g.greater(bpf.JmpJGT, hi, lo, t, f)
	case policy.GE:
		g.greater(bpf.JmpJGE, hi, lo, t, f)
	case policy.LT: // a < v  <=>  !(a >= v)
		g.greater(bpf.JmpJGE, hi, lo, f, t)
	case policy.LE: // a <= v  <=>  !(a > v)
		g.greater(bpf.JmpJGT, hi, lo, f, t)
	default:
		panic(fmt.Sprintf("compile: unknown operator %v", c.Op))
	}
}

// eq emits hi == hi.v && lo == lo.v.
func (g *gen) eq(hi, lo word, t, f bpf.Label) {
	if hi.v&^hi.mask != 0 || (lo.param == 0 && lo.v&^lo.mask != 0) {
		g.b.JumpTo(f) // the masked argument cannot have those bits
		return
	}
	if hi.mask != 0 {
		next := g.b.NewLabel("eq_low")
		g.load(hi)
		g.b.JumpIf(bpf.JmpJEQ, hi.v, next, f)
		g.b.Mark(next)
	}
	if lo.mask == 0 {
		g.b.JumpTo(t) // lo.v is 0, as checked above
		return
	}
	g.load(lo)
	g.jump(bpf.JmpJEQ, lo, t, f)
}

// greater emits the unsigned 64-bit comparison a > v (op JGT) or a >= v
// (op JGE): the high words decide unless they are equal, then the low
// words do.
func (g *gen) greater(op uint16, hi, lo word, t, f bpf.Label) {
	if hi.mask != 0 {
		tie := g.b.NewLabel("hi_equal")
		g.load(hi)
		g.b.JumpIf(bpf.JmpJGT, hi.v, t, tie)
		g.b.Mark(tie)
		low := g.b.NewLabel("cmp_low")
		g.b.JumpIf(bpf.JmpJEQ, hi.v, low, f)
		g.b.Mark(low)
	} else if hi.v != 0 {
		g.b.JumpTo(f) // the high word is 0, below hi.v
		return
	}
	if lo.mask == 0 {
		// The low word is 0: 0 > v never holds, 0 >= v only for v == 0.
		if op == bpf.JmpJGE && lo.v == 0 {
			g.b.JumpTo(t)
		} else {
			g.b.JumpTo(f)
		}
		return
	}
	g.load(lo)
	g.jump(op, lo, t, f)
}
