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
	"github.com/fencer-dev/fencer/internal/policy"
)

// Stats describes a compiled program.
type Stats struct {
	// Insns is the program's length.
	Insns int
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
	st := Stats{Insns: len(prog), Syscalls: len(decs), BuildTime: time.Since(start)}
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
	// blocks are the conditional syscalls' blocks not laid out yet, by
	// label, and def the default action's shared return.
	blocks map[bpf.Label]decision
	def    bpf.Label
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
//	ld [nr];   a decision tree over the syscall number (dispatch.go), to
//	           each unconditional syscall's shared return, each
//	           conditional syscall's block, the default action and, on
//	           x86_64, the kill of the x32 range
//	per syscall: each action's condition in precedence order, else default
//	the shared returns
func (g *gen) program(f *policy.Filter, decs []decision) {
	kill := g.ret(policy.ActKillProcess.Ret())
	g.b.LoadAbs(bpf.OffArch)
	archOK := g.b.NewLabel("arch_ok")
	g.b.JumpIf(bpf.JmpJEQ, f.AuditArch, archOK, kill)
	g.b.Mark(archOK)
	g.b.LoadAbs(bpf.OffNr)
	g.def = g.ret(f.Default.Ret())
	g.dispatch(f, decs, kill)
	for _, k := range g.retList {
		g.b.Mark(g.rets[k])
		g.b.Ret(k)
	}
}

// dispatch sends the syscall number in A to its outcome: an unconditional
// syscall straight to its shared return, so the kernel's action cache can
// decide it without running the filter, a conditional one to its block,
// any other number to the default action, and on x86_64 an x32 number to
// kill.
func (g *gen) dispatch(f *policy.Filter, decs []decision, kill bpf.Label) {
	g.blocks = map[bpf.Label]decision{}
	targets := make([]bpf.Label, len(decs))
	for i, d := range decs {
		if f.X32 && d.nr >= policy.X32Bit {
			continue // the x32 kill decides before any rule
		}
		targets[i] = g.ret(d.groups[0].action.Ret())
		if !d.unconditional() {
			targets[i] = g.b.NewLabel(fmt.Sprintf("sys_%d", d.nr))
			g.blocks[targets[i]] = d
		}
	}
	s := spans(f, decs, targets, g.def, kill)
	g.tree(planDispatch(s), s)
}

// block lays out the block at l, if l is a conditional syscall's block
// not laid out yet.
func (g *gen) block(l bpf.Label) {
	d, ok := g.blocks[l]
	if !ok {
		return
	}
	delete(g.blocks, l)
	g.b.Mark(l)
	g.syscallBlock(d, g.def)
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
