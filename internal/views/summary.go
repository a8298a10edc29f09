package views

import (
	"fmt"
	"io"
	"time"
)

// Result is how a host came out of a command.
type Result string

// Results.
const (
	// ResultOK: apply or destroy changed the host as planned.
	ResultOK Result = "ok"
	// ResultNoChanges: the host matches the configuration; nothing to do.
	ResultNoChanges Result = "no changes"
	// ResultChanges: plan found changes to make.
	ResultChanges Result = "changes"
	// ResultInSync: verify found the host as planned.
	ResultInSync Result = "in sync"
	// ResultDrift: verify found differences, or could not prove it.
	ResultDrift Result = "drift"
	// ResultFailed: the host failed (Reason says why); the others went on.
	ResultFailed Result = "failed"
	// ResultNotApplied: the host was planned and could be applied, but
	// was not, because another host of a saved plan was refused (apply
	// without -partial).
	ResultNotApplied Result = "not applied"
)

// HostResult is one host's line of the summary that ends a command run on
// several hosts; -json prints the same facts.
type HostResult struct {
	Host string `json:"host"`
	// Arch is the host's architecture, "" when it was not learned.
	Arch   string `json:"arch,omitempty"`
	Result Result `json:"result"`
	// Reason says why the host failed.
	Reason string `json:"reason,omitempty"`
	// Added, Changed and Destroyed count files: those applied (apply,
	// destroy) or to apply (plan).
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Destroyed int `json:"destroyed"`
	// Differences counts what verify found (ResultDrift).
	Differences int `json:"differences,omitempty"`
	// Seconds is the time the host took.
	Seconds float64 `json:"seconds"`
}

// NewHostResult is a HostResult with its time.
func NewHostResult(host, arch string, d time.Duration) HostResult {
	return HostResult{Host: host, Arch: arch, Seconds: d.Round(time.Millisecond).Seconds()}
}

// Summary writes the summary of a run on several hosts: one line per
// host, with its architecture, time, result and files.
func Summary(w io.Writer, results []HostResult, color bool) {
	c := colors(color)
	nw, aw, failed := 0, 0, 0
	for _, r := range results {
		nw, aw = max(nw, len(r.Host)), max(aw, len(archOrUnknown(r.Arch)))
		if r.Result == ResultFailed {
			failed++
		}
	}
	fmt.Fprintf(w, "\nSummary: %d hosts", len(results))
	if failed > 0 {
		fmt.Fprintf(w, ", %s%d failed%s", c.red, failed, c.reset)
	}
	fmt.Fprintln(w, ":")
	for _, r := range results {
		col := map[Result]string{ResultFailed: c.red, ResultDrift: c.red, ResultNotApplied: c.yellow, ResultOK: c.green, ResultInSync: c.green}[r.Result]
		fmt.Fprintf(w, "  %-*s  %-*s  %7.2fs  %s%s%s\n", nw, r.Host, aw, archOrUnknown(r.Arch), r.Seconds, col, resultText(r), c.reset)
	}
}

func archOrUnknown(a string) string {
	if a == "" {
		return "-"
	}
	return a
}

// resultText is a host's result in words.
func resultText(r HostResult) string {
	files := fmt.Sprintf("%d added, %d changed, %d destroyed", r.Added, r.Changed, r.Destroyed)
	switch r.Result {
	case ResultFailed:
		return "failed: " + r.Reason
	case ResultOK:
		return fmt.Sprintf("%s: %s", r.Result, files)
	case ResultNotApplied:
		return fmt.Sprintf("%s: %s", r.Result, r.Reason)
	case ResultChanges:
		return fmt.Sprintf("%d to add, %d to change, %d to destroy", r.Added, r.Changed, r.Destroyed)
	case ResultDrift:
		return fmt.Sprintf("drift: %d difference(s)", r.Differences)
	}
	return string(r.Result)
}
