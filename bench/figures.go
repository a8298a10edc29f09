package main

import (
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/progstats"
)

// result is one compiler's program of one policy, measured.
type result struct {
	prog bpf.Program
	fig  progstats.Figures
	mism mismatches
	// err says why the compiler has no program for the policy.
	err error
}

// measured holds every compiler's result on a list of policies: one row
// per policy, one column per compiler (in compilers' order).
type measured struct {
	policies []benchPolicy
	comps    []compiler
	res      [][]result
}

// measureAll compiles every policy with every compiler and measures each
// program with progstats, so that every compiler is measured the same
// way, and checks its verdicts against the policy.
func measureAll(policies []benchPolicy, comps []compiler) *measured {
	m := &measured{policies: policies, comps: comps, res: make([][]result, len(policies))}
	for i, p := range policies {
		m.res[i] = make([]result, len(comps))
		for j, c := range comps {
			m.res[i][j] = measureOne(c, p)
		}
	}
	return m
}

// measureOne is one compiler's result on one policy.
func measureOne(c compiler, p benchPolicy) result {
	prog, err := c.compile(p.filter)
	if err != nil {
		return result{err: err}
	}
	if err := bpf.Validate(prog); err != nil {
		return result{err: err}
	}
	fig, err := progstats.Measure(prog, p.filter)
	if err != nil {
		return result{err: err}
	}
	mism, err := checkVerdicts(prog, p.filter)
	return result{prog: prog, fig: fig, mism: mism, err: err}
}
