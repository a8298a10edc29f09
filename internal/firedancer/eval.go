package firedancer

import (
	"fmt"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Arches are the architectures Firedancer builds its filters for (its
// generated headers define ARCH_NR for these; i386 too, but Firedancer
// does not run there).
var Arches = []string{"x86_64", "aarch64"}

// Filter is a policy bound to an architecture and to values of its
// parameters: what the filter Firedancer generates from it decides.
type Filter struct {
	auditArch uint32
	byNr      map[uint32]*rnode // nil node: allowed whatever the arguments
}

// rnode is a condition with every value resolved.
type rnode struct {
	op   string // "and", "or", "not", or a comparison
	args []*rnode
	arg  int
	is32 bool
	val  uint64 // the value compared: its low word only when is32
}

// NewFilter binds p to architecture a and the parameters' values (every
// parameter needs one). It fails when a syscall of p does not exist on a,
// as the generated C would not compile there.
func NewFilter(p *Policy, a *arch.Arch, params map[string]uint64) (*Filter, error) {
	f := &Filter{auditArch: a.Audit, byNr: map[uint32]*rnode{}}
	for _, prm := range p.Params {
		if _, ok := params[prm.Name]; !ok {
			return nil, fmt.Errorf("policy %s: no value for parameter %s", p.Name, prm.Name)
		}
	}
	for _, sc := range p.Syscalls {
		nr, ok := a.Syscall(sc.Name)
		if !ok {
			return nil, fmt.Errorf("policy %s: syscall %s does not exist on %s", p.Name, sc.Name, a.Name)
		}
		var n *rnode
		if sc.Cond != nil {
			var err error
			if n, err = resolveCond(sc.Name, sc.Cond, params); err != nil {
				return nil, fmt.Errorf("policy %s: %s: %w", p.Name, sc.Name, err)
			}
		}
		f.byNr[uint32(nr)] = n
	}
	return f, nil
}

// resolveCond resolves e's values and widths for syscall.
func resolveCond(syscall string, e Expr, params map[string]uint64) (*rnode, error) {
	switch x := e.(type) {
	case *Logic:
		n := &rnode{op: x.Op}
		for _, a := range x.Args {
			c, err := resolveCond(syscall, a, params)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, c)
		}
		return n, nil
	case *Cmp:
		is32, ok := argIs32(syscall, x.Arg)
		if !ok {
			return nil, fmt.Errorf("argument %d has no type in the generator's table", x.Arg)
		}
		lo, hi, err := x.Value.words(params)
		if err != nil {
			return nil, err
		}
		n := &rnode{op: x.Op, arg: x.Arg, is32: is32, val: uint64(hi)<<32 | uint64(lo)}
		if is32 {
			n.val = uint64(lo)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unknown condition %T", e)
}

// words returns the low and high words the generator compares the value
// with.
func (v Value) words(params map[string]uint64) (lo, hi uint32, err error) {
	switch v.Kind {
	case Number:
		return uint32(v.Num), 0, nil
	case ParamRef:
		return uint32(params[v.Text]), 0, nil
	}
	if v.C == nil {
		return 0, 0, fmt.Errorf("constant %q did not parse", v.Text)
	}
	cv, err := v.C.eval(params)
	if err != nil {
		return 0, 0, err
	}
	lo, hi = cv.words()
	return lo, hi, nil
}

// Decide returns what Firedancer's filter returns for d: kill_process for
// a foreign architecture, for a syscall the policy does not list (the x32
// numbers of x86_64 among them: none equals a listed number) and for one
// whose condition does not hold; allow otherwise.
func (f *Filter) Decide(d policy.Data) policy.Action {
	if d.Arch != f.auditArch {
		return policy.ActKillProcess
	}
	n, listed := f.byNr[uint32(d.Nr)]
	if !listed || (n != nil && !n.holds(&d.Args)) {
		return policy.ActKillProcess
	}
	return policy.ActAllow
}

func (n *rnode) holds(args *[6]uint64) bool {
	switch n.op {
	case "and":
		for _, a := range n.args {
			if !a.holds(args) {
				return false
			}
		}
		return true
	case "or":
		for _, a := range n.args {
			if a.holds(args) {
				return true
			}
		}
		return false
	case "not":
		return !n.args[0].holds(args)
	}
	v := args[n.arg]
	if n.is32 {
		v = uint64(uint32(v))
	}
	switch n.op {
	case "eq":
		return v == n.val
	case "<":
		return v < n.val
	case "<=":
		return v <= n.val
	case ">":
		return v > n.val
	}
	return v >= n.val // ">="
}
