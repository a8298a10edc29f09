// Package compile turns a resolved policy (internal/policy) into a seccomp
// BPF program.
//
// It works in layers: the policy is lowered to a decision per syscall
// (lower.go), the program's shape is laid out with symbolic labels on a
// bpf.Builder (this file: prologue, dispatch, per-syscall blocks, shared
// returns; cond.go: conditions), and the builder turns labels into
// bytecode, rewriting jumps that are out of reach. A different dispatch
// (a search over syscall ranges) replaces one function here.
//
// Every emitted condition loads the word it compares itself, so no code
// relies on what the accumulator held before it: the mistake that makes
// go-seccomp-bpf v1.6.0 compare a loaded argument as a syscall number
// cannot happen by construction.
package compile

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/bpf/optimize"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Stats describes a compiled program.
type Stats struct {
	// Insns is the program's length; InsnsBefore its length as
	// assembled, before optimize.Program.
	Insns       int
	InsnsBefore int
	// Unoptimized is the program as assembled, before optimize.Program:
	// what Measure compares the program with.
	Unoptimized bpf.Program
	// Syscalls is how many syscalls have rules; Conditional how many of
	// them look at arguments.
	Syscalls    int
	Conditional int
	// BuildTime is how long compilation took.
	BuildTime time.Duration
}

// TooLongError reports a program the kernel would refuse.
type TooLongError struct {
	Service string
	Arch    string
	Insns   int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("the filter of service %q on %s has %d instructions; the kernel accepts at most %d: "+
		"split rules with many alternatives or drop conditions", e.Service, e.Arch, e.Insns, bpf.MaxInsns)
}

// Compile returns the BPF program for f.
func Compile(f *policy.Filter) (bpf.Program, Stats, error) {
	start := time.Now()
	if f.Order == nil {
		return nil, Stats{}, fmt.Errorf("compile filter of service %q: architecture %q has no byte order", f.Service, f.Arch)
	}
	decs, err := lower(f)
	if err != nil {
		return nil, Stats{}, err
	}
	g := &gen{b: bpf.NewBuilder(), order: f.Order, rets: map[uint32]bpf.Label{}}
	g.program(f, decs)
	prog, err := g.b.Assemble()
	if err != nil {
		return nil, Stats{}, fmt.Errorf("assemble filter of service %q on %s: %w", f.Service, f.Arch, err)
	}
	unoptimized := prog
	prog = optimize.Program(prog)
	st := Stats{Insns: len(prog), InsnsBefore: len(unoptimized), Unoptimized: unoptimized,
		Syscalls: len(decs), BuildTime: time.Since(start)}
	for _, d := range decs {
		if !d.unconditional() {
			st.Conditional++
		}
	}
	if len(prog) > bpf.MaxInsns {
		return nil, st, &TooLongError{Service: f.Service, Arch: f.Arch, Insns: len(prog)}
	}
	return prog, st, nil
}

// gen holds the state of one program's code generation.
type gen struct {
	b     *bpf.Builder
	order binary.ByteOrder
	// rets maps a return value to the label of its shared `ret`.
	rets    map[uint32]bpf.Label
	retList []uint32
}

// ret returns the label of a shared `ret #k`, emitted at the end.
func (g *gen) ret(k uint32) bpf.Label {
	if l, ok := g.rets[k]; ok {
		return l
	}
	l := g.b.NewLabel(fmt.Sprintf("ret_%#x", k))
	g.rets[k] = l
	g.retList = append(g.retList, k)
	return l
}

// program lays out the whole filter:
//
//	ld [arch]; jeq AUDIT_ARCH else kill_process
//	ld [nr];   (x86_64) jge X32_SYSCALL_BIT -> kill_process
//	dispatch on nr to each syscall's block, else the default action
//	per syscall: each action's condition in precedence order, else default
//	the shared returns
func (g *gen) program(f *policy.Filter, decs []decision) {
	kill := g.ret(policy.ActKillProcess.Ret())
	g.b.LoadAbs(bpf.OffArch)
	archOK := g.b.NewLabel("arch_ok")
	g.b.JumpIf(bpf.JmpJEQ, f.AuditArch, archOK, kill)
	g.b.Mark(archOK)
	g.b.LoadAbs(bpf.OffNr)
	if f.X32 {
		native := g.b.NewLabel("native_abi")
		g.b.JumpIf(bpf.JmpJGE, policy.X32Bit, kill, native)
		g.b.Mark(native)
	}
	def := g.ret(f.Default.Ret())
	blocks := g.dispatch(decs, def)
	for i, d := range decs {
		if blocks[i] != "" {
			g.b.Mark(blocks[i])
			g.syscallBlock(d, def)
		}
	}
	for _, k := range g.retList {
		g.b.Mark(g.rets[k])
		g.b.Ret(k)
	}
}

// dispatch compares the syscall number in A with each syscall that has
// rules, in ascending order. An unconditional syscall jumps straight to its
// shared return, so the kernel's action cache can decide it without running
// the filter; the others jump to their block. Any other number gets the
// default action. It returns the label of each conditional block ("" for
// unconditional ones).
func (g *gen) dispatch(decs []decision, def bpf.Label) []bpf.Label {
	blocks := make([]bpf.Label, len(decs))
	for i, d := range decs {
		next := g.b.NewLabel("next")
		target := g.ret(d.groups[0].action.Ret())
		if !d.unconditional() {
			blocks[i] = g.b.NewLabel(fmt.Sprintf("sys_%d", d.nr))
			target = blocks[i]
		}
		g.b.JumpIf(bpf.JmpJEQ, d.nr, target, next)
		g.b.Mark(next)
	}
	g.b.JumpTo(def)
	return blocks
}

// syscallBlock tests each action group's condition in order of precedence;
// the first that holds returns its action, and when none does the default
// action applies.
func (g *gen) syscallBlock(d decision, def bpf.Label) {
	for i, grp := range d.groups {
		next := def
		if i < len(d.groups)-1 {
			next = g.b.NewLabel("try_next_action")
		}
		g.cond(grp.when, g.ret(grp.action.Ret()), next)
		if next != def {
			g.b.Mark(next)
		}
	}
}
