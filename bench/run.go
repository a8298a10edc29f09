package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fencer-dev/fencer/internal/arch"
)

// archRun is everything measured of the compilers on one architecture.
type archRun struct {
	arch *arch.Arch
	// named holds metrics, @system-service and @system-service with the
	// late conditional rule, in that order.
	named      *measured
	firedancer *measured
	fdErrs     []error
	fdDir      string
}

// Indexes into archRun.named.
const (
	metricsRow = iota
	systemServiceRow
	lateRow
)

// run measures everything o asks for and prints the table to w.
func run(o *options, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "fencer-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ssDir := o.systemService
	t := &table{}
	comps := compilers()
	if gen, err := newFiredancerGenerator(firedancerCorpus(o.repo)); err != nil {
		t.note("no Firedancer generator column: %v", err)
	} else {
		comps = append(comps, gen)
	}
	for _, c := range comps {
		t.columns = append(t.columns, c.name())
	}
	var runs []*archRun
	for _, a := range o.arches {
		ar, err := measureArch(o, ssDir, a, comps)
		if err != nil {
			return err
		}
		runs = append(runs, ar)
	}
	compileRows(t, runs)
	if err := commandRows(o, t, ssDir, tmp); err != nil {
		return err
	}
	if o.kernel {
		if err := kernelRow(o, t, runs); err != nil {
			return err
		}
	}
	verdictNotes(t, runs)
	fmt.Fprintf(w, "fencer bench: libseccomp %s, go-seccomp-bpf v1.6.0, @system-service from %s\n\n", libseccompVersion(), ssDir)
	t.write(w)
	if o.svg != "" {
		return writePlot(o.svg, runs[0])
	}
	return nil
}

// measureArch compiles and measures every policy on a.
func measureArch(o *options, ssDir string, a *arch.Arch, comps []compiler) (*archRun, error) {
	metrics, err := metricsPolicy(o.repo, a)
	if err != nil {
		return nil, err
	}
	ss, err := systemServicePolicy(ssDir, a)
	if err != nil {
		return nil, err
	}
	ar := &archRun{arch: a, fdDir: o.firedancer}
	ar.named = measureAll([]benchPolicy{metrics, ss, withLateCall(ss, a)}, comps)
	fd, errs := firedancerPolicies(o.firedancer, a)
	ar.fdErrs = errs
	ar.firedancer = measureAll(fd, comps)
	return ar, nil
}

// compileRows adds the rows of figures of the compiled programs.
func compileRows(t *table, runs []*archRun) {
	for _, ar := range runs {
		m := ar.named
		cells := m.figureCells(systemServiceRow, func(r result) string {
			return fmt.Sprintf("%d / %d", r.fig.Insns, r.fig.MaxExecuted)
		}, t)
		f := m.res[systemServiceRow][0]
		t.rows = append(t.rows, row{
			work: fmt.Sprintf("systemd 252 `@system-service` (%d names, unconditional): size / max executed", len(m.policies[systemServiceRow].filter.Rules)),
			arch: ar.arch.Name, cells: cells, goal: "≤ 56 / ≤ 10",
			met: yesNo(f.err == nil && f.fig.Insns <= 56 && f.fig.MaxExecuted <= 10),
		})
		cells = m.figureCells(metricsRow, func(r result) string {
			return fmt.Sprintf("%d / %.1f", r.fig.Insns, r.fig.MeanAllowed)
		}, t)
		f = m.res[metricsRow][0]
		t.rows = append(t.rows, row{
			work: "the metrics policy (examples' rules without start-up): size / mean executed on allowed calls",
			arch: ar.arch.Name, cells: cells, goal: "≤ 40 / ≤ 11",
			met: yesNo(f.err == nil && f.fig.Insns <= 40 && f.fig.MeanAllowed <= 11),
		})
		firedancerRows(t, ar)
	}
}

// firedancerRows adds the Firedancer corpus's rows for one architecture.
func firedancerRows(t *table, ar *archRun) {
	m := ar.firedancer
	n := len(m.policies)
	if n == 0 {
		t.note("no Firedancer policy resolves on %s (%s has %d configuration files; %d errors)", ar.arch.Name, ar.fdDir, configFiles(ar.fdDir), len(ar.fdErrs))
		return
	}
	for _, err := range ar.fdErrs {
		t.note("Firedancer on %s: %v", ar.arch.Name, err)
	}
	size := make([]string, len(m.comps))
	mean := make([]string, len(m.comps))
	var fencerSize int
	var fencerMean float64
	for j, c := range m.comps {
		total, sum, ok := 0, 0.0, 0
		for i := range m.policies {
			r := m.res[i][j]
			if errors.Is(r.err, errNotApplicable) {
				continue
			}
			if r.err != nil {
				t.note("%s cannot compile Firedancer's %s on %s: %v", c.name(), m.policies[i].name, ar.arch.Name, r.err)
				continue
			}
			total += r.fig.Insns
			sum += r.fig.MeanExecuted
			ok++
		}
		size[j], mean[j] = thousands(total), fmt.Sprintf("%.1f", sum/float64(max(ok, 1)))
		if ok < n {
			size[j] += fmt.Sprintf(" (%d of %d)", ok, n)
			mean[j] += fmt.Sprintf(" (%d of %d)", ok, n)
		}
		if j == 0 {
			fencerSize, fencerMean = total, sum/float64(max(ok, 1))
			if ok < n {
				fencerSize = 1 << 30
			}
		}
	}
	t.rows = append(t.rows,
		row{work: fmt.Sprintf("Firedancer's %d policies: total size", n), arch: ar.arch.Name, cells: size, goal: "≤ 1,500", met: yesNo(fencerSize <= 1500)},
		row{work: "same: mean executed over every syscall number", arch: ar.arch.Name, cells: mean, goal: "≤ 9", met: yesNo(fencerMean <= 9)})
}

// verdictNotes says, per compiler, on how many inputs its programs decide
// differently from the policies.
func verdictNotes(t *table, runs []*archRun) {
	comps := runs[0].named.comps
	for j, c := range comps {
		var sum mismatches
		for _, ar := range runs {
			for _, m := range []*measured{ar.named, ar.firedancer} {
				for i := range m.policies {
					r := m.res[i][j]
					sum.Wrong += r.mism.Wrong
					sum.HighHalf += r.mism.HighHalf
					sum.Arch += r.mism.Arch
					if sum.First == "" && r.mism.First != "" {
						sum.First = fmt.Sprintf("%s on %s: %s", m.policies[i].name, ar.arch.Name, r.mism.First)
					}
				}
			}
		}
		line := fmt.Sprintf("verdicts of %s against the policy: %d wrong, %d only from a 32-bit argument's high half, %d on x32 numbers or a foreign architecture", c.name(), sum.Wrong, sum.HighHalf, sum.Arch)
		if sum.First != "" {
			line += "; first wrong: " + sum.First
		}
		t.note("%s", line)
	}
}
