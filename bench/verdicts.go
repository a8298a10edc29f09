package main

import (
	"fmt"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/progstats"
)

// mismatches counts the inputs on which a program decides differently
// from its policy (policy.Filter.Decide).
type mismatches struct {
	// Wrong is every other difference: a wrong program.
	Wrong int
	// HighHalf counts differences that go away with the arguments' high
	// halves cleared: the program compares 64 bits where the kernel
	// passes a 32-bit argument and the policy ignores the rest.
	HighHalf int
	// Arch counts differences on a foreign architecture or an x32
	// number, which go-seccomp-bpf answers by design with its default
	// action and ENOSYS.
	Arch int
	// First describes the first wrong input, for the report.
	First string
}

// checkVerdicts runs prog on progstats' inputs of f, on x32 numbers
// (x86_64) and on a foreign architecture, and compares each verdict with
// f.Decide's.
func checkVerdicts(prog bpf.Program, f *policy.Filter) (mismatches, error) {
	vm, err := bpf.NewVM(prog, f.Order)
	if err != nil {
		return mismatches{}, err
	}
	run := func(nr int32, archID uint32, args [6]uint64) policy.Action {
		d := bpf.MakeData(nr, archID, 0, args, f.Order)
		return policy.ActionFromRet(vm.Run(d[:], bpf.Options{}).Ret)
	}
	byNr := map[uint32][]policy.Rule{}
	for _, r := range f.Rules {
		byNr[r.Nr] = append(byNr[r.Nr], r)
	}
	var m mismatches
	check := func(nr uint32, args [6]uint64) {
		want := f.Decide(policy.Data{Nr: int32(nr), Arch: f.AuditArch, Args: args})
		if got := run(int32(nr), f.AuditArch, args); got != want {
			var low [6]uint64
			for i, a := range args {
				low[i] = a & 0xffffffff
			}
			if run(int32(nr), f.AuditArch, low) == want {
				m.HighHalf++
				return
			}
			m.Wrong++
			if m.First == "" {
				m.First = describeInput(f, nr, args, got, want)
			}
		}
	}
	dense, extra := progstats.Numbers(f)
	for nr := uint32(0); nr < uint32(dense); nr++ {
		for _, args := range progstats.Inputs(nr, byNr[nr]) {
			check(nr, args)
		}
	}
	for _, nr := range extra {
		for _, args := range progstats.Inputs(nr, byNr[nr]) {
			check(nr, args)
		}
	}
	m.Arch = archMismatches(f, run)
	return m, nil
}

// archMismatches counts wrong verdicts on x32 numbers and on a foreign
// architecture, for each number a rule names.
func archMismatches(f *policy.Filter, run func(int32, uint32, [6]uint64) policy.Action) int {
	n := 0
	for _, nr := range f.Syscalls() {
		if f.X32 {
			d := policy.Data{Nr: int32(nr | policy.X32Bit), Arch: f.AuditArch}
			if run(d.Nr, d.Arch, d.Args) != f.Decide(d) {
				n++
			}
		}
		d := policy.Data{Nr: int32(nr), Arch: f.AuditArch ^ 1}
		if run(d.Nr, d.Arch, d.Args) != f.Decide(d) {
			n++
		}
	}
	return n
}

// describeInput says what a program got wrong.
func describeInput(f *policy.Filter, nr uint32, args [6]uint64, got, want policy.Action) string {
	name := "?"
	for _, r := range f.Rules {
		if r.Nr == nr {
			name = r.Syscall
			break
		}
	}
	return fmt.Sprintf("%s (%d) args %#x: %s, the policy %s", name, nr, args, got, want)
}
