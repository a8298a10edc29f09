package main

import (
	"fmt"
	"io"

	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/progstats"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// jsonFigures is one program's figures (progstats.Figures) in JSON.
type jsonFigures struct {
	Instructions int     `json:"instructions"`
	MaxExecuted  int     `json:"max_executed"`
	MeanExecuted float64 `json:"mean_executed"`
	MeanAllowed  float64 `json:"mean_allowed"`
}

// jsonOptimizer is what the optimizer did to a filter: its figures as
// assembled and as compiled.
type jsonOptimizer struct {
	Before jsonFigures `json:"before"`
	After  jsonFigures `json:"after"`
}

func toJSONFigures(f progstats.Figures) jsonFigures {
	return jsonFigures{Instructions: f.Insns, MaxExecuted: f.MaxExecuted, MeanExecuted: round2(f.MeanExecuted), MeanAllowed: round2(f.MeanAllowed)}
}

// round2 keeps two decimals, which is what the figures mean.
func round2(x float64) float64 {
	return float64(int64(x*100+0.5)) / 100
}

// measure returns the figures of a compiled filter before and after the
// optimizer (compile.Measure).
func measure(x *resolve.Compiled) (jsonOptimizer, compile.Figures, error) {
	fig, err := compile.Measure(x.Filter, x.Program, x.Stats)
	if err != nil {
		return jsonOptimizer{}, fig, fmt.Errorf("measuring the filter of service %q on %s: %w", x.Service.Name, x.Arch.Name, err)
	}
	return jsonOptimizer{Before: toJSONFigures(fig.Before), After: toJSONFigures(fig.After)}, fig, nil
}

// printFigures prints show -bpf -stats's table, as comment lines.
func printFigures(w io.Writer, fig compile.Figures) {
	b, a := fig.Before, fig.After
	fmt.Fprintf(w, ";                        before    after\n")
	fmt.Fprintf(w, "; instructions          %7d  %7d\n", b.Insns, a.Insns)
	fmt.Fprintf(w, "; max executed          %7d  %7d\n", b.MaxExecuted, a.MaxExecuted)
	fmt.Fprintf(w, "; mean executed         %7.2f  %7.2f  (every syscall number)\n", b.MeanExecuted, a.MeanExecuted)
	fmt.Fprintf(w, "; mean on allowed calls %7.2f  %7.2f\n", b.MeanAllowed, a.MeanAllowed)
}
