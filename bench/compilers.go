package main

import (
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
)

// compiler turns a resolved policy into a seccomp program.
type compiler interface {
	// name is the compiler's column heading.
	name() string
	// compile returns f's program, or an error saying why the compiler
	// cannot express f.
	compile(f *policy.Filter) (bpf.Program, error)
}

// fencerCompiler is fencer's own compiler, internal/compile.
type fencerCompiler struct{}

func (fencerCompiler) name() string { return "fencer" }

func (fencerCompiler) compile(f *policy.Filter) (bpf.Program, error) {
	prog, _, err := compile.Compile(f)
	return prog, err
}

// compilers lists every compiler the bench compares, fencer first and
// libseccomp -O2 (the reference of the ratios) among them.
func compilers() []compiler {
	return []compiler{fencerCompiler{}, libseccomp{optimize: 1}, libseccomp{optimize: 2}, goSeccomp{}}
}
