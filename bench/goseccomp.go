package main

import (
	"fmt"
	"reflect"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	refarch "github.com/elastic/go-seccomp-bpf/arch"
	xbpf "golang.org/x/net/bpf"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/clauses"
	"github.com/fencer-dev/fencer/internal/policy"
)

// goSeccomp is github.com/elastic/go-seccomp-bpf, with conditions
// (NamesWithCondtions). It compiles for the architecture it runs on: the
// bench sets its unexported architecture to compile for another one.
// Its default action has no errno but EPERM; a masked equality becomes
// BitsNotSet of the bits that must be clear and BitsSet of each bit that
// must be set.
type goSeccomp struct{}

func (goSeccomp) name() string { return "go-seccomp-bpf" }

// goSeccompOps maps plain comparisons to go-seccomp-bpf's operations.
var goSeccompOps = map[policy.Op]seccomp.Operation{
	policy.EQ: seccomp.Equal, policy.NE: seccomp.NotEqual, policy.LT: seccomp.LessThan,
	policy.LE: seccomp.LessOrEqual, policy.GT: seccomp.GreaterThan, policy.GE: seccomp.GreaterOrEqual,
}

func (goSeccomp) compile(f *policy.Filter) (bpf.Program, error) {
	info, err := refarch.GetInfo(f.Arch)
	if err != nil {
		return nil, err
	}
	if f.Order.String() != "LittleEndian" {
		return nil, fmt.Errorf("go-seccomp-bpf loads argument words in the order of the machine it runs on, not %s's", f.Arch)
	}
	def := seccomp.Action(f.Default.Ret())
	if f.Default.Kind == policy.Errno && f.Default.Data != 1 {
		return nil, fmt.Errorf("go-seccomp-bpf's default errno is EPERM, not %d", f.Default.Data)
	}
	if f.Default.Kind == policy.Errno {
		def = seccomp.ActionErrno
	}
	form, err := clauses.NormalForm(f, clauses.Options{})
	if err != nil {
		return nil, err
	}
	p := seccomp.Policy{DefaultAction: def}
	groups := map[policy.Action]int{}
	for _, s := range form {
		// By number: the two tables spell a few names differently.
		name, ok := info.SyscallNumbers[int(s.Nr)]
		if !ok {
			return nil, fmt.Errorf("go-seccomp-bpf does not know syscall %s (%d) on %s", s.Name, s.Nr, f.Arch)
		}
		for _, a := range s.Actions {
			g, ok := groups[a.Action]
			if !ok {
				g = len(p.Syscalls)
				groups[a.Action] = g
				p.Syscalls = append(p.Syscalls, seccomp.SyscallGroup{Action: seccomp.Action(a.Action.Ret())})
			}
			addGoSeccomp(&p.Syscalls[g], name, a.Clauses)
		}
	}
	setUnexported(&p, "arch", info)
	insns, err := p.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := xbpf.Assemble(insns)
	if err != nil {
		return nil, err
	}
	prog := make(bpf.Program, len(raw))
	for i, in := range raw {
		prog[i] = bpf.Insn{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return prog, nil
}

// addGoSeccomp adds syscall name under clauses to group g.
func addGoSeccomp(g *seccomp.SyscallGroup, name string, cls []clauses.Clause) {
	for _, cl := range cls {
		if len(cl) == 0 {
			g.Names = append(g.Names, name)
			continue
		}
		var conds seccomp.ArgumentConditions
		for _, t := range cl {
			conds = append(conds, goSeccompConds(t)...)
		}
		g.NamesWithCondtions = append(g.NamesWithCondtions, seccomp.NameWithConditions{Name: name, Conditions: conds})
	}
}

// goSeccompConds is one term as go-seccomp-bpf conditions, all of which
// must hold.
func goSeccompConds(t clauses.Term) []seccomp.Condition {
	arg := uint32(t.Arg)
	if !t.Masked() {
		return []seccomp.Condition{{Argument: arg, Operation: goSeccompOps[t.Op], Value: t.Value}}
	}
	var out []seccomp.Condition
	if clear := t.Mask &^ t.Value; clear != 0 {
		out = append(out, seccomp.Condition{Argument: arg, Operation: seccomp.BitsNotSet, Value: clear})
	}
	for _, b := range clauses.SingleBits(t.Value & t.Mask) {
		out = append(out, seccomp.Condition{Argument: arg, Operation: seccomp.BitsSet, Value: b})
	}
	return out
}

// setUnexported sets the unexported field name of *ptr to v.
func setUnexported(ptr any, name string, v any) {
	field := reflect.ValueOf(ptr).Elem().FieldByName(name)
	reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Set(reflect.ValueOf(v))
}
