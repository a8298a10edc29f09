package firedancer

import (
	"fmt"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
)

// Generated returns the program Firedancer's generator makes of p for
// architecture a with the parameters' values, instruction for
// instruction as its C header fills it in: the architecture check, a
// chain of jeq on the syscall number in the policy's order, the shared
// kill and allow returns, then for each conditional syscall its
// condition, evaluated left to right with a jump per comparison (each
// reloading its argument word, high word first for a 64-bit one), and its
// own kill and allow returns. It is what the benchmark measures as
// Firedancer's filter; Filter.Decide is its meaning.
func Generated(p *Policy, a *arch.Arch, params map[string]uint64) (bpf.Program, error) {
	if _, err := NewFilter(p, a, params); err != nil { // checks syscalls and parameters
		return nil, err
	}
	g := &genProg{labels: map[string]int{}}
	g.ld(bpf.OffArch)
	g.jump(bpf.JmpJEQ, a.Audit, "", "RET_KILL_PROCESS")
	g.ld(bpf.OffNr)
	var checked []Syscall
	for _, sc := range p.Syscalls {
		nr, _ := a.Syscall(sc.Name)
		target := "RET_ALLOW"
		if sc.Cond != nil {
			target = "check_" + sc.Name
			checked = append(checked, sc)
		}
		g.jump(bpf.JmpJEQ, uint32(nr), target, "")
	}
	g.label("RET_KILL_PROCESS")
	g.ret(bpf.RetKillProcess)
	g.label("RET_ALLOW")
	g.ret(bpf.RetAllow)
	for _, sc := range checked {
		n, err := resolveCond(sc.Name, sc.Cond, params)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %s: %w", p.Name, sc.Name, err)
		}
		g.label("check_" + sc.Name)
		g.expr(n, sc.Name+"_ALLOW", sc.Name+"_KILL")
		g.label(sc.Name + "_KILL")
		g.ret(bpf.RetKillProcess)
		g.label(sc.Name + "_ALLOW")
		g.ret(bpf.RetAllow)
	}
	return g.assemble(p.Name)
}

// genInsn is an instruction whose jumps name labels ("" falls through).
type genInsn struct {
	in     bpf.Insn
	jt, jf string
}

// genProg lays out a program as the generator does.
type genProg struct {
	insns  []genInsn
	labels map[string]int
	n      int // fresh label counter
}

func (g *genProg) label(name string) { g.labels[name] = len(g.insns) }

func (g *genProg) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s_%d", prefix, g.n)
}

func (g *genProg) ld(off uint32) {
	g.insns = append(g.insns, genInsn{in: bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, off)})
}

func (g *genProg) ret(k uint32) {
	g.insns = append(g.insns, genInsn{in: bpf.Stmt(bpf.ClassRET|bpf.RetK, k)})
}

func (g *genProg) jump(op uint16, k uint32, t, f string) {
	g.insns = append(g.insns, genInsn{in: bpf.Jump(bpf.ClassJMP|op|bpf.SrcK, k, 0, 0), jt: t, jf: f})
}

// expr lays out n, jumping to t when it holds and to f otherwise.
func (g *genProg) expr(n *rnode, t, f string) {
	switch n.op {
	case "not":
		g.expr(n.args[0], f, t)
	case "and", "or":
		for i, a := range n.args {
			if i == len(n.args)-1 {
				g.expr(a, t, f)
				break
			}
			next := g.fresh(n.op)
			if n.op == "and" {
				g.expr(a, next, f)
			} else {
				g.expr(a, t, next)
			}
			g.label(next)
		}
	default:
		g.cmp(n, t, f)
	}
}

// cmp lays out one comparison.
func (g *genProg) cmp(n *rnode, t, f string) {
	lo, hi := uint32(n.val), uint32(n.val>>32)
	// The 32-bit jump for each operator: its opcode and whether a true
	// jump means the comparison holds.
	op, holds := map[string]uint16{"eq": bpf.JmpJEQ, "<": bpf.JmpJGE, "<=": bpf.JmpJGT, ">": bpf.JmpJGT, ">=": bpf.JmpJGE}[n.op],
		n.op == "eq" || n.op == ">" || n.op == ">="
	jt, jf := t, f
	if !holds {
		jt, jf = f, t
	}
	// The generator's offsets: the high word 4 bytes after the low one,
	// as on the little-endian machines it builds for.
	low := uint32(bpf.OffArgs + 8*n.arg)
	if n.is32 {
		g.ld(low)
		g.jump(op, lo, jt, jf)
		return
	}
	g.ld(low + 4)
	if n.op == "eq" {
		ok := g.fresh("arg_hi_eq")
		g.jump(bpf.JmpJEQ, hi, ok, f)
		g.label(ok)
	} else {
		// Above in the high word decides for > and >=, against for < and
		// <=; equal goes on to the low word; below decides the other way.
		mid, eq := g.fresh("arg_cmp"), g.fresh("arg_cmp_eq")
		above, below := t, f
		if n.op == "<" || n.op == "<=" {
			above, below = f, t
		}
		g.jump(bpf.JmpJGT, hi, above, mid)
		g.label(mid)
		g.jump(bpf.JmpJEQ, hi, eq, below)
		g.label(eq)
	}
	g.ld(low)
	g.jump(op, lo, jt, jf)
}

// assemble resolves the labels into jump offsets.
func (g *genProg) assemble(name string) (bpf.Program, error) {
	out := make(bpf.Program, len(g.insns))
	for pc, gi := range g.insns {
		in := gi.in
		for _, j := range []struct {
			label string
			off   *uint8
		}{{gi.jt, &in.Jt}, {gi.jf, &in.Jf}} {
			if j.label == "" {
				continue
			}
			at, ok := g.labels[j.label]
			d := at - pc - 1
			if !ok || d < 0 || d > 255 {
				return nil, fmt.Errorf("policy %s: jump to %s out of reach in Firedancer's layout", name, j.label)
			}
			*j.off = uint8(d)
		}
		out[pc] = in
	}
	return out, nil
}
