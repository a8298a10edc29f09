package compile

import (
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/progstats"
)

// Figures are what the optimizer did to one program: its figures as
// assembled and as Compile returned it (progstats.Measure).
type Figures struct {
	Before, After progstats.Figures
}

// Measure returns the figures of prog, the program Compile returned for
// f with st, and of the program before optimization. It runs both
// programs over every syscall number, so it is for show -stats, validate
// -json and the tests, not for every compilation.
func Measure(f *policy.Filter, prog bpf.Program, st Stats) (Figures, error) {
	after, err := progstats.Measure(prog, f)
	if err != nil {
		return Figures{}, err
	}
	before := after
	if st.Unoptimized != nil {
		if before, err = progstats.Measure(st.Unoptimized, f); err != nil {
			return Figures{}, err
		}
	}
	return Figures{Before: before, After: after}, nil
}
