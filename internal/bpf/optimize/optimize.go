// Package optimize shrinks and speeds up an assembled seccomp BPF program
// without changing what it returns for any input.
//
// It is a list of small passes in the manner of gVisor's pkg/bpf
// optimizer, each a function from a program to a program that reports
// whether it changed anything, run in order and again until none does
// (Program). Every pass keeps the program's meaning exactly, never adds
// an instruction, keeps every jump within reach (255 instructions for a
// conditional jump), and never puts a load of an argument on a path that
// had none: a syscall the program allows through loads of the syscall
// number and architecture, constant jumps and a return alone stays so,
// which is what lets the kernel's action cache skip the filter for it.
//
// The passes work on programs, not policies: they know nothing of
// syscalls, and this package imports no part of the compiler.
//
// A jump comparing A with X compares it with a value the passes know
// nothing of (no program fencer compiles loads X): they never decide
// it nor learn from it, and two such jumps are alike only with the same
// constant. The compiler relies on that for comparisons with parameters
// (bpf.Builder.JumpIfParam).
package optimize

import (
	"github.com/fencer-dev/fencer/internal/bpf"
)

// Pass is one named optimization (ThreadJumps and the others are its
// exported forms).
type Pass struct {
	Name string
	// nodes is the pass on decoded instructions, which Program chains
	// without encoding in between.
	nodes func(q []node) ([]node, bool)
}

// Run returns the rewritten program and whether it differs from p. A
// pass given a program it cannot rewrite returns it unchanged.
func (pass Pass) Run(p bpf.Program) (bpf.Program, bool) { return rewrite(p, pass.nodes) }

// Passes are the passes Program runs, in order: the ones that retarget
// jumps first, then those that delete what retargeting left unreachable
// or redundant.
var Passes = []Pass{
	{"threadJumps", threadJumps},
	{"threadKnownValues", threadKnownValues},
	{"sharedReturns", sharedReturns},
	{"mergeTails", mergeTails},
	{"removeRedundantLoads", removeRedundantLoads},
	{"removeDeadCode", removeDeadCode},
}

// maxRounds bounds the fixed-point iteration. Every pass only moves jump
// targets forward, turns jumps into shorter forms or deletes
// instructions, so the iteration ends by itself; the bound is a guard.
const maxRounds = 64

// Program runs Passes to a fixed point and returns the optimized program.
// It returns p itself when p is not a well-formed program (see
// wellFormed), and never a program longer than p. The result is one the
// kernel accepts (bpf.Validate) whenever p is, and a well-formed program
// when p is over bpf.MaxInsns: one the optimizer brings under the limit
// is then accepted.
func Program(p bpf.Program) bpf.Program {
	return Run(p, Passes)
}

// Run is Program with the given passes. It chains them on decoded
// instructions and checks the result once; should the kernel's check of
// scratch memory, which follows the program's layout rather than its
// paths, refuse it, it runs them again checking each one's result and
// keeping only those the kernel accepts.
func Run(p bpf.Program, passes []Pass) bpf.Program {
	if !wellFormed(p) {
		return p
	}
	q := decode(p)
	for range maxRounds {
		changed := false
		for _, pass := range passes {
			next, ok := pass.nodes(q)
			if ok && len(next) <= len(q) {
				q, changed = next, true
			}
		}
		if !changed {
			break
		}
	}
	if out, ok := encode(q); ok && len(out) <= len(p) && acceptable(out) {
		return out
	}
	return runChecked(p, passes)
}

// runChecked is Run checking each pass's result.
func runChecked(p bpf.Program, passes []Pass) bpf.Program {
	cur := p
	for range maxRounds {
		changed := false
		for _, pass := range passes {
			next, ok := pass.Run(cur)
			if !ok || len(next) > len(cur) || !acceptable(next) {
				continue
			}
			cur, changed = next, true
		}
		if !changed {
			break
		}
	}
	return cur
}

// acceptable reports whether a pass's result may replace the program: the
// kernel's checks when it is short enough for them, well-formedness when
// it is still over the limit.
func acceptable(p bpf.Program) bool {
	if len(p) <= bpf.MaxInsns {
		return bpf.Validate(p) == nil
	}
	return wellFormed(p)
}

// wellFormed reports whether p is a program the passes can work on: one
// the kernel accepts (bpf.Validate), or, over bpf.MaxInsns, one made of
// the instructions the compiler emits (absolute loads of seccomp_data,
// `and #k`, jumps comparing with constants or with X, the parameters of
// bpf.Builder.JumpIfParam, returns of constants) with every jump
// inside the program and a return at the end: the compiler hands over
// programs that are too long, which the passes may bring under the limit.
func wellFormed(p bpf.Program) bool {
	if len(p) == 0 {
		return false
	}
	if len(p) <= bpf.MaxInsns {
		return bpf.Validate(p) == nil
	}
	for pc, in := range p {
		switch {
		case in.Code == bpf.ClassLD|bpf.SizeW|bpf.ModeABS:
			if in.K >= bpf.DataSize || in.K%4 != 0 {
				return false
			}
		case in.Code == bpf.ClassALU|bpf.AluAND|bpf.SrcK:
		case in.Code == bpf.ClassJMP|bpf.JmpJA:
			if uint64(in.K) >= uint64(len(p)-pc-1) {
				return false
			}
		case isCond(in.Code):
			if pc+1+int(max(in.Jt, in.Jf)) >= len(p) {
				return false
			}
		case in.Code == bpf.ClassRET|bpf.RetK:
		default:
			return false
		}
	}
	return isRet(p[len(p)-1].Code)
}
