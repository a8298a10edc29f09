package compile

import (
	"fmt"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Parametric is a program whose comparisons with parameters are left
// open: one program for every value of the parameters, which Fill
// completes. It is what `fencer export c` writes as a C function of the
// service's fd numbers.
//
// Its shape does not depend on the parameters' values because nothing
// that compiles it looks at them: the compiler never folds a comparison
// with a parameter, never counts one in a range of neighbouring values
// (ranges.go), and emits it as a jump comparing with X
// (bpf.Builder.JumpIfParam), which the optimizer neither decides nor
// learns from, and merges only with a jump comparing with the same
// parameter. Two parameters may have the same value, or the value of a
// constant of the policy: the program is right either way.
type Parametric struct {
	// Program is the program with 0 in place of each parameter.
	Program bpf.Program
	// Params are the parameters' names (policy.Cmp.Param), in the order
	// the policy first compares with them.
	Params []string
	// Slots holds, for each instruction, the index in Params of the
	// parameter it compares A with, or -1.
	Slots []int
}

// Fill returns the program for the values of the parameters, which
// values must all have.
func (p *Parametric) Fill(values map[string]uint32) (bpf.Program, error) {
	out := append(bpf.Program(nil), p.Program...)
	for pc, s := range p.Slots {
		if s < 0 {
			continue
		}
		v, ok := values[p.Params[s]]
		if !ok {
			return nil, fmt.Errorf("no value for parameter %s", p.Params[s])
		}
		out[pc].K = v
	}
	return out, nil
}

// CompileParametric compiles f with its comparisons with parameters
// (policy.Cmp.Param) left open. A parameter is a 32-bit value: it may be
// compared with an argument under any mask that keeps a bit of the
// argument's low word.
func CompileParametric(f *policy.Filter) (*Parametric, Stats, error) {
	names := f.Params()
	index := make(map[string]uint32, len(names))
	for i, n := range names {
		index[n] = uint32(i) + 1
	}
	if err := checkParams(f); err != nil {
		return nil, Stats{}, err
	}
	prog, st, err := compileWith(f, index)
	if err != nil {
		return nil, st, err
	}
	out := &Parametric{Program: prog, Params: names, Slots: make([]int, len(prog))}
	for pc, in := range prog {
		out.Slots[pc] = -1
		if in.Code&0x07 == bpf.ClassJMP && in.Code&bpf.SrcX != 0 {
			out.Slots[pc] = int(in.K)
			out.Program[pc].Code &^= bpf.SrcX
			out.Program[pc].K = 0
		}
	}
	return out, st, nil
}

// checkParams refuses a comparison with a parameter the compiler cannot
// leave open: one under a mask that keeps no bit of the low word (whether
// it holds then depends on the parameter's value alone).
func checkParams(f *policy.Filter) error {
	for _, r := range f.Rules {
		for _, c := range policy.Comparisons(r.When) {
			switch {
			case c.Param == "":
			case uint32(c.Mask) == 0:
				return fmt.Errorf("filter of service %q on %s: rule %q compares arg%d with %s under mask %#x, which keeps no bit of the argument's low word",
					f.Service, f.Arch, r.Name, c.Arg, c.Param, c.Mask)
			}
		}
	}
	return nil
}

// withoutParams is f with every comparison's parameter forgotten: its
// value is the constant compared with.
func withoutParams(f *policy.Filter) *policy.Filter {
	return f.MapCmps(func(c policy.Cmp) policy.Cmp {
		c.Param = ""
		return c
	})
}
