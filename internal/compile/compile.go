// Package compile turns a resolved policy (internal/policy) into a seccomp
// BPF program.
//
// It works in layers: the policy is lowered to a decision per syscall
// (lower.go; ranges.go checks three or more neighbouring values of one
// word as one range), the program's shape is laid out with symbolic labels on a
// bpf.Builder (this file: prologue, per-syscall blocks, shared returns;
// dispatch.go: the decision tree over syscall-number ranges that sends
// each number to its outcome; cond.go: conditions), and the builder turns
// labels into bytecode, rewriting jumps that are out of reach. Every path
// to an unconditional allow loads only the architecture and the syscall
// number and compares them with constants, so that the kernel's action
// cache answers those syscalls without running the filter.
//
// Every emitted condition loads the word it compares itself, so no code
// relies on what the accumulator held before it: the mistake that makes
// go-seccomp-bpf v1.6.0 compare a loaded argument as a syscall number
// cannot happen by construction.
package compile

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/bpf/optimize"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Stats describes a compiled program.
type Stats struct {
	// Insns is the program's length.
	Insns int
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

// TooLongError reports a program the kernel would refuse, and what makes
// it long.
type TooLongError struct {
	Service string
	Arch    string
	Insns   int
	// Compiled is the program's length as compiled, before the
	// optimizer, which the figures below divide up.
	Compiled int
	// Largest are the rules whose conditions take the most instructions
	// as compiled, most first (at most three).
	Largest []RuleSize
	// Rest is what the rest of the program takes as compiled: the checks
	// of the architecture and the syscall number, the other rules'
	// conditions, the returns, and jumps to targets out of reach.
	Rest int
}

// RuleSize is how many instructions one rule's conditions take.
type RuleSize struct {
	Rule string
	// Syscalls are those the rule's conditions are compiled for, those
	// taking the most first.
	Syscalls []string
	Insns    int
}

// maxLargest is how many rules a TooLongError names.
const maxLargest = 3

func (e *TooLongError) Error() string {
	largest := ""
	for i, r := range e.Largest {
		if i == 0 {
			largest += fmt.Sprintf(". Of the %d compiled before optimization, rule %q takes %d (%s)",
				e.Compiled, r.Rule, r.Insns, strings.Join(r.Syscalls, ", "))
		} else {
			largest += fmt.Sprintf(", rule %q %d (%s)", r.Rule, r.Insns, strings.Join(r.Syscalls, ", "))
		}
	}
	if largest != "" {
		largest += fmt.Sprintf(", the rest %d", e.Rest)
	}
	return fmt.Sprintf("the filter of service %q on %s has %d instructions; the kernel accepts at most %d%s: "+
		"split rules with many alternatives or drop conditions", e.Service, e.Arch, e.Insns, bpf.MaxInsns, largest)
}

// largest returns the rules whose conditions took the most instructions,
// and what the rest of a program of n instructions takes.
func (g *gen) largest(f *policy.Filter, n int) ([]RuleSize, int) {
	names := map[uint32]string{}
	for _, r := range f.Rules {
		names[r.Nr] = r.Syscall
	}
	byRule := map[string]*RuleSize{}
	perSyscall := map[string][]part{}
	var rules []*RuleSize
	for p, insns := range g.used {
		r := byRule[p.rule]
		if r == nil {
			r = &RuleSize{Rule: p.rule}
			byRule[p.rule] = r
			rules = append(rules, r)
		}
		r.Insns += insns
		perSyscall[p.rule] = append(perSyscall[p.rule], p)
	}
	sort.Slice(rules, func(i, j int) bool {
		if rules[i].Insns != rules[j].Insns {
			return rules[i].Insns > rules[j].Insns
		}
		return rules[i].Rule < rules[j].Rule
	})
	rest := n
	var out []RuleSize
	for i, r := range rules {
		if i == maxLargest || r.Insns == 0 {
			break
		}
		ps := perSyscall[r.Rule]
		sort.Slice(ps, func(i, j int) bool {
			if g.used[ps[i]] != g.used[ps[j]] {
				return g.used[ps[i]] > g.used[ps[j]]
			}
			return ps[i].nr < ps[j].nr
		})
		for _, p := range ps {
			name := names[p.nr]
			if name == "" {
				name = fmt.Sprintf("syscall %d", p.nr)
			}
			r.Syscalls = append(r.Syscalls, name)
		}
		rest -= r.Insns
		out = append(out, *r)
	}
	return out, rest
}

// Compile returns the BPF program for f. Comparisons with parameters
// (policy.Cmp.Param) are compiled with their values, as any other: see
// CompileParametric for a program that leaves them open.
func Compile(f *policy.Filter) (bpf.Program, Stats, error) {
	if len(f.Params()) > 0 {
		f = withoutParams(f)
	}
	return compileWith(f, nil)
}

// compileWith compiles f, whose parameters, if any, params numbers from 1.
func compileWith(f *policy.Filter, params map[string]uint32) (bpf.Program, Stats, error) {
	start := time.Now()
	if f.Order == nil {
		return nil, Stats{}, fmt.Errorf("compile filter of service %q: architecture %q has no byte order", f.Service, f.Arch)
	}
	decs, err := lower(f)
	if err != nil {
		return nil, Stats{}, err
	}
	g := generate(f, decs, params)
	prog, err := g.b.Assemble()
	if err != nil {
		return nil, Stats{}, fmt.Errorf("assemble filter of service %q on %s: %w", f.Service, f.Arch, err)
	}
	unoptimized := prog
	prog = optimize.Program(prog)
	st := Stats{Insns: len(prog), Unoptimized: unoptimized,
		Syscalls: len(decs), BuildTime: time.Since(start)}
	for _, d := range decs {
		if !d.unconditional() {
			st.Conditional++
		}
	}
	if len(prog) > bpf.MaxInsns {
		long := &TooLongError{Service: f.Service, Arch: f.Arch, Insns: len(prog), Compiled: len(unoptimized)}
		long.Largest, long.Rest = g.largest(f, len(unoptimized))
		return nil, st, long
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
	// label, and def the default action's shared return. With interleave
	// set, each block follows the dispatch code that jumps to it, else
	// they all follow the dispatch, in the order of their numbers.
	blocks     map[bpf.Label]decision
	def        bpf.Label
	interleave bool
	// used counts the instructions each rule's alternatives take in each
	// syscall's block.
	used map[part]int
	// params numbers the parameters of a parametric compile from 1
	// (Parametric); it is empty otherwise.
	params map[string]uint32
}

// part is the code of one rule on one syscall.
type part struct {
	nr   uint32
	rule string
}

// interleaveFrom is the length from which a program's blocks are laid
// out within the dispatch: below it every jump reaches its target
// wherever it is, and the blocks after the dispatch read more easily.
const interleaveFrom = 256

// generate lays out the program for the decisions on a builder: with
// every conditional block after the dispatch, or when that is long
// enough that jumps would go out of reach, with each block right after
// the dispatch code that jumps to it.
func generate(f *policy.Filter, decs []decision, params map[string]uint32) *gen {
	layout := func(interleave bool) *gen {
		g := &gen{b: bpf.NewBuilder(), order: f.Order, rets: map[uint32]bpf.Label{}, interleave: interleave, used: map[part]int{}, params: params}
		g.program(f, decs)
		return g
	}
	if g := layout(false); g.b.Len() < interleaveFrom {
		return g
	}
	return layout(true)
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
	for _, l := range g.dispatch(f, decs, kill) {
		g.block(l) // those not laid out within the dispatch
	}
	for _, k := range g.retList {
		g.b.Mark(g.rets[k])
		g.b.Ret(k)
	}
}

// dispatch sends the syscall number in A to its outcome: an unconditional
// syscall straight to its shared return, so the kernel's action cache can
// decide it without running the filter, a conditional one to its block,
// any other number to the default action, and on x86_64 an x32 number to
// kill. It returns the labels of the conditional syscalls' blocks, in the
// order of their numbers.
func (g *gen) dispatch(f *policy.Filter, decs []decision, kill bpf.Label) []bpf.Label {
	g.blocks = map[bpf.Label]decision{}
	var labels []bpf.Label
	targets := make([]bpf.Label, len(decs))
	for i, d := range decs {
		if f.X32 && d.nr >= policy.X32Bit {
			continue // the x32 kill decides before any rule
		}
		targets[i] = g.ret(d.groups[0].action.Ret())
		if !d.unconditional() {
			targets[i] = g.b.NewLabel(fmt.Sprintf("sys_%d", d.nr))
			g.blocks[targets[i]] = d
			labels = append(labels, targets[i])
		}
	}
	s := spans(f, decs, targets, g.def, kill)
	g.tree(planDispatch(s), s)
	return labels
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
// action applies. The instructions of each alternative of a group's ||
// count for the rule it comes from.
func (g *gen) syscallBlock(d decision, def bpf.Label) {
	for i, grp := range d.groups {
		next := def
		if i < len(d.groups)-1 {
			next = g.b.NewLabel("try_next_action")
		}
		t := g.ret(grp.action.Ret())
		alts, ok := grp.when.(policy.Or)
		if !ok || len(alts) != len(grp.rules) {
			at := g.b.Len()
			g.cond(grp.when, t, next)
			g.used[part{d.nr, grp.rules[0]}] += g.b.Len() - at
		} else {
			for k, y := range alts {
				f := next
				if k < len(alts)-1 {
					f = g.b.NewLabel("or")
				}
				at := g.b.Len()
				g.cond(y, t, f)
				g.used[part{d.nr, grp.rules[k]}] += g.b.Len() - at
				if f != next {
					g.b.Mark(f)
				}
			}
		}
		if next != def {
			g.b.Mark(next)
		}
	}
}
