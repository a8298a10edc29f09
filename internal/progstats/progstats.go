// Package progstats measures a compiled seccomp program against the policy
// it was compiled from: its size and how many instructions the kernel runs
// for each syscall. Every program of a policy is measured over the same
// inputs, so figures of different compilers (fencer before and after its
// optimizer, libseccomp, go-seccomp-bpf) compare directly.
//
// The inputs are every syscall number from 0 to the highest one of the
// architecture's table below 4096, every higher number of the table (arm's
// private syscalls), and every number the policy names. A number no rule
// names is run once, with all arguments 0. A number with rules is run with
// inputs built from the constants its conditions compare with: all zero,
// each compared argument at, just below and just above each constant (also
// with junk in the high half and outside the mask), and random
// combinations of those values for which some rule's condition holds. The
// inputs are the same for every run: the random source is seeded by the
// syscall number.
package progstats

import (
	"fmt"
	"math/rand"
	"sort"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Figures describe one program.
type Figures struct {
	// Insns is the program's length.
	Insns int
	// MaxExecuted is the most instructions any input runs, the return
	// included.
	MaxExecuted int
	// MeanExecuted is the mean, over every syscall number measured, of the
	// instructions its inputs run (each number's inputs averaged first).
	MeanExecuted float64
	// MeanAllowed is the same mean over the syscalls the policy allows for
	// some input, each averaged over its allowed inputs only.
	MeanAllowed float64
	// PerNr is, for each number from 0 to Dense-1, the mean instructions
	// its inputs run; numbers measured above it count in MeanExecuted only.
	PerNr []float64
}

// denseLimit bounds the dense range of numbers measured: no architecture
// fencer supports has a regular syscall number this high.
const denseLimit = 4096

// samplesPerRule is how many random combinations are tried per rule to
// find inputs for which its condition holds.
const samplesPerRule = 256

// Measure runs prog over the inputs of f (see the package doc) and returns
// its figures. The program must be one the kernel accepts.
func Measure(prog bpf.Program, f *policy.Filter) (Figures, error) {
	vm, err := bpf.NewVM(prog, f.Order)
	if err != nil {
		return Figures{}, fmt.Errorf("measure program of service %q on %s: %w", f.Service, f.Arch, err)
	}
	dense, extra := Numbers(f)
	fig := Figures{Insns: len(prog), PerNr: make([]float64, dense)}
	byNr := map[uint32][]policy.Rule{}
	for _, r := range f.Rules {
		byNr[r.Nr] = append(byNr[r.Nr], r)
	}
	var sumAll, sumAllowed float64
	var allowedNrs int
	measure := func(nr uint32) float64 {
		total, n, allowedTotal, allowed := 0, 0, 0, 0
		for _, args := range Inputs(nr, byNr[nr]) {
			d := bpf.MakeData(int32(nr), f.AuditArch, 0, args, f.Order)
			res := vm.Run(d[:], bpf.Options{})
			total += res.Executed
			n++
			if res.Executed > fig.MaxExecuted {
				fig.MaxExecuted = res.Executed
			}
			if f.Decide(policy.Data{Nr: int32(nr), Arch: f.AuditArch, Args: args}) == policy.ActAllow {
				allowedTotal += res.Executed
				allowed++
			}
		}
		if allowed > 0 {
			sumAllowed += float64(allowedTotal) / float64(allowed)
			allowedNrs++
		}
		return float64(total) / float64(n)
	}
	for nr := uint32(0); nr < uint32(dense); nr++ {
		fig.PerNr[nr] = measure(nr)
		sumAll += fig.PerNr[nr]
	}
	for _, nr := range extra {
		sumAll += measure(nr)
	}
	fig.MeanExecuted = sumAll / float64(dense+len(extra))
	if allowedNrs > 0 {
		fig.MeanAllowed = sumAllowed / float64(allowedNrs)
	}
	return fig, nil
}

// Numbers returns the syscall numbers Measure runs for f: every number
// below dense, and the others, ascending.
func Numbers(f *policy.Filter) (dense int, extra []uint32) {
	high := map[uint32]bool{}
	add := func(nr uint32) {
		if nr < denseLimit {
			if int(nr)+1 > dense {
				dense = int(nr) + 1
			}
			return
		}
		high[nr] = true
	}
	if a, ok := arch.Lookup(f.Arch); ok {
		for _, name := range a.SyscallNames() {
			if nr, ok := a.Syscall(name); ok && nr >= 0 {
				add(uint32(nr))
			}
		}
	}
	for _, r := range f.Rules {
		add(r.Nr)
	}
	for _, nr := range f.ExecOnce {
		add(nr)
	}
	for nr := range high {
		extra = append(extra, nr)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	return dense, extra
}

// Inputs returns the argument vectors Measure runs for a syscall whose
// rules are rules (see the package doc).
func Inputs(nr uint32, rules []policy.Rule) [][6]uint64 {
	inputs := [][6]uint64{{}}
	if len(rules) == 0 {
		return inputs
	}
	seen := map[[6]uint64]bool{{}: true}
	add := func(args [6]uint64) {
		if !seen[args] {
			seen[args] = true
			inputs = append(inputs, args)
		}
	}
	var cand [6][]uint64
	for _, r := range rules {
		for _, c := range policy.Comparisons(r.When) {
			junk := ^c.Mask &^ 0xffffffff
			for _, v := range []uint64{c.Value, c.Value - 1, c.Value + 1, c.Value | ^c.Mask, c.Value | junk} {
				cand[c.Arg] = append(cand[c.Arg], v)
				var args [6]uint64
				args[c.Arg] = v
				add(args)
			}
		}
	}
	rng := rand.New(rand.NewSource(int64(nr) + 1))
	for _, r := range rules {
		for i := 0; i < samplesPerRule; i++ {
			var args [6]uint64
			for a := range args {
				if len(cand[a]) > 0 && rng.Intn(4) != 0 {
					args[a] = cand[a][rng.Intn(len(cand[a]))]
				}
			}
			if policy.Eval(r.When, &args) {
				add(args)
			}
		}
	}
	return inputs
}
