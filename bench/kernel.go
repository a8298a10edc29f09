package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
)

// The in-kernel timing runs the bench binary again as a child that
// installs one filter and times one syscall under it; these variables
// tell the child what to do.
const (
	childFilter = "FENCER_BENCH_FILTER" // the encoded program, or "none"
	childNr     = "FENCER_BENCH_NR"
	childCalls  = "FENCER_BENCH_CALLS"
)

// kernelCalls is how many calls each child times.
const kernelCalls = 200000

// isChild reports whether this process is a timing child.
func isChild() bool { return os.Getenv(childFilter) != "" }

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
		if err := ar.named.res[lateRow][j].err; err != nil {
			cells[j] = "n/a"
			t.note("%s cannot compile %s on %s: %v", ar.named.comps[j].name(), ar.named.policies[lateRow].name, ar.arch.Name, err)
			continue
		}
		cells[j] = fmt.Sprintf("%.0f ns (%.2f)", ns[j+1], ns[j+1]/ref)
	}
	ratio := ns[1] / ref
	t.rows = append(t.rows, row{
		work: fmt.Sprintf("a syscall past the end of @system-service (%s, %d) plus one conditional rule, in the kernel: per call (ratio to libseccomp -O2), median of %d",
			call.Syscall, call.Nr, o.runs),
		arch: ar.arch.Name, cells: cells, goal: "≤ libseccomp -O2 (ratio ≤ 1)",
		met: fmt.Sprintf("%s (%+.0f ns)", yesNo(ratio <= 1), ns[1]-ref),
	})
	t.note("the same call with no filter: %.0f ns", ns[0])
	return nil
}

// timeFilters returns the median ns per call of syscall nr with no filter
// (index 0) and under each compiler's program of the late policy, runs
// interleaved across compilers.
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
	for j, r := range ar.named.res[lateRow] {
		if r.err != nil {
			files = append(files, "")
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("filter-%d.bpf", j))
		if err := os.WriteFile(path, r.prog.Encode(ar.arch.Order), 0o644); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	samples := make([][]time.Duration, len(files))
	for range o.runs {
		for i, f := range files {
			if f == "" {
				continue
			}
			d, err := runChildTiming(self, f, nr)
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], d)
		}
	}
	ns := make([]float64, len(files))
	for i, s := range samples {
		ns[i] = float64(median(s))
	}
	return ns, nil
}

// runChildTiming runs one child and returns its time per call.
func runChildTiming(self, filter string, nr int) (time.Duration, error) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childFilter+"="+filter, childNr+"="+strconv.Itoa(nr), childCalls+"="+strconv.Itoa(kernelCalls))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("timing child under %s: %w: %s", filter, err, stderr.String())
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		return 0, fmt.Errorf("timing child under %s printed %q", filter, out.String())
	}
	return time.Duration(v), nil
}

// childSetup reads the child's environment: the program (nil for none),
// the syscall number and the number of calls.
func childSetup() (bpf.Program, int, int, error) {
	nr, err := strconv.Atoi(os.Getenv(childNr))
	if err != nil {
		return nil, 0, 0, err
	}
	calls, err := strconv.Atoi(os.Getenv(childCalls))
	if err != nil {
		return nil, 0, 0, err
	}
	path := os.Getenv(childFilter)
	if path == "none" {
		return nil, nr, calls, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	a, ok := arch.Lookup(nativeArch())
	if !ok {
		return nil, 0, 0, fmt.Errorf("no architecture %s", nativeArch())
	}
	prog, err := bpf.Decode(raw, a.Order)
	return prog, nr, calls, err
}
