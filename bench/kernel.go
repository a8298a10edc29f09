package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
)

// The in-kernel timing runs the bench binary again as a child that
// times one syscall under each filter, one thread per filter; these
// variables tell the child what to do.
const (
	childFilters = "FENCER_BENCH_FILTERS" // the encoded programs, or "none", comma-separated
	childNr      = "FENCER_BENCH_NR"
)

// A child runs childRounds rounds of one batch of childBatch calls per
// filter.
const (
	childRounds = 200
	childBatch  = 1000
)

// isChild reports whether this process is a timing child.
func isChild() bool { return os.Getenv(childFilters) != "" }

// kernelRow times the late syscall of @system-service plus one
// conditional rule under each compiler's filter, in children run
// interleaved, and adds the row.
func kernelRow(o *options, t *table, runs []*archRun) error {
	var ar *archRun
	for _, r := range runs {
		if r.arch.Name == nativeArch() {
			ar = r
		}
	}
	if ar == nil {
		return fmt.Errorf("-kernel needs -arch to include this machine's architecture, %s", nativeArch())
	}
	late := ar.named.policies[lateRow].filter
	call := late.Rules[len(late.Rules)-1]
	ns, err := timeFilters(o, ar, int(call.Nr))
	if err != nil {
		return err
	}
	ref := ns[3] // libseccomp -O2; ns[0] is no filter
	cells := make([]string, len(ar.named.comps))
	for j := range cells {
		if err := ar.named.res[lateRow][j].err; errors.Is(err, errNotApplicable) {
			cells[j] = "—"
			continue
		} else if err != nil {
			cells[j] = "n/a"
			t.note("%s cannot compile %s on %s: %v", ar.named.comps[j].name(), ar.named.policies[lateRow].name, ar.arch.Name, err)
			continue
		}
		cells[j] = fmt.Sprintf("%.0f ns (%.2f)", ns[j+1], ns[j+1]/ref)
	}
	ratio := ns[1] / ref
	t.rows = append(t.rows, row{
		work: fmt.Sprintf("a syscall past the end of @system-service (%s, %d) plus one conditional rule, in the kernel: per call (ratio to libseccomp -O2), median of %d runs",
			call.Syscall, call.Nr, o.runs),
		arch: ar.arch.Name, cells: cells, goal: "≤ libseccomp -O2 (ratio ≤ 1)",
		met: fmt.Sprintf("%s (%+.0f ns)", yesNo(ratio <= 1), ns[1]-ref),
	})
	t.note("the same call with no filter: %.0f ns", ns[0])
	return nil
}

// timeFilters returns the median ns per call of syscall nr with no filter
// (index 0) and under each compiler's program of the late policy (0 for
// a compiler without one), over o.runs children.
func timeFilters(o *options, ar *archRun, nr int) ([]float64, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fencer-bench-kernel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := []string{"none"}
	index := []int{0}
	for j, r := range ar.named.res[lateRow] {
		if r.err != nil {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("filter-%d.bpf", j))
		if err := os.WriteFile(path, r.prog.Encode(ar.arch.Order), 0o644); err != nil {
			return nil, err
		}
		files, index = append(files, path), append(index, j+1)
	}
	samples := make([][]float64, len(files))
	for range o.runs {
		ns, err := runChildTiming(self, files, nr)
		if err != nil {
			return nil, err
		}
		for i, v := range ns {
			samples[i] = append(samples[i], v)
		}
	}
	out := make([]float64, len(ar.named.res[lateRow])+1)
	for i, s := range samples {
		slices.Sort(s)
		out[index[i]] = s[len(s)/2]
	}
	return out, nil
}

// runChildTiming runs one child and returns its time per call under each
// filter.
func runChildTiming(self string, files []string, nr int) ([]float64, error) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childFilters+"="+strings.Join(files, ","), childNr+"="+strconv.Itoa(nr))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("timing child: %w: %s", err, stderr.String())
	}
	fields := strings.Fields(out.String())
	if len(fields) != len(files) {
		return nil, fmt.Errorf("timing child printed %q for %d filters", out.String(), len(files))
	}
	ns := make([]float64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("timing child printed %q", out.String())
		}
		ns[i] = v
	}
	return ns, nil
}

// childSetup reads the child's environment: the programs (nil for none)
// and the syscall number.
func childSetup() ([]bpf.Program, int, error) {
	nr, err := strconv.Atoi(os.Getenv(childNr))
	if err != nil {
		return nil, 0, err
	}
	a, ok := arch.Lookup(nativeArch())
	if !ok {
		return nil, 0, fmt.Errorf("no architecture %s", nativeArch())
	}
	var progs []bpf.Program
	for _, path := range strings.Split(os.Getenv(childFilters), ",") {
		if path == "none" {
			progs = append(progs, nil)
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, 0, err
		}
		prog, err := bpf.Decode(raw, a.Order)
		if err != nil {
			return nil, 0, err
		}
		progs = append(progs, prog)
	}
	return progs, nr, nil
}
