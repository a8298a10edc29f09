package views

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/plan"
)

// clock is a fake time that advances a second per reading.
func clock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// TestProgressLines checks progress off a terminal: one line per event.
func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false, 0)
	p.now = clock()
	p.Observe(plan.Event{Host: "web-1", Step: plan.StepConnecting})
	p.Observe(plan.Event{Host: "web-2", Step: plan.StepApplying, Done: 2, Total: 5})
	p.Observe(plan.Event{Host: "web-1", Step: plan.StepFailed, Err: "host web-1: unreachable"})
	want := "host web-1: connecting\nhost web-2: applying 2/5\nhost web-1: failed: host web-1: unreachable\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if d := p.Elapsed("web-1"); d != 2*time.Second {
		t.Errorf("web-1 took %v, want 2s", d)
	}
}

// TestProgressTerminal checks progress on a terminal: a line per host,
// rewritten in place, and a new block after Break; the time between
// blocks counts for no host.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, true, 0)
	p.now = clock()
	p.Observe(plan.Event{Host: "a", Step: plan.StepPlanning})
	p.Observe(plan.Event{Host: "b", Step: plan.StepPlanning})
	p.Observe(plan.Event{Host: "a", Step: plan.StepPlanned})
	want := "\r\x1b[Khost a: planning\n" +
		"\x1b[1A\r\x1b[Khost a: planning\n\r\x1b[Khost b: planning\n" +
		"\x1b[2A\r\x1b[Khost a: planned\n\r\x1b[Khost b: planning\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
	p.Break()
	b.Reset()
	p.now() // time passes between blocks (a question, the plan)
	p.Observe(plan.Event{Host: "a", Step: plan.StepApplying, Done: 1, Total: 2})
	p.Observe(plan.Event{Host: "a", Step: plan.StepDone})
	if want := "\r\x1b[Khost a: applying 1/2\n\x1b[1A\r\x1b[Khost a: done\n"; b.String() != want {
		t.Errorf("after Break got %q, want %q", b.String(), want)
	}
	if d := p.Elapsed("a"); d != 3*time.Second {
		t.Errorf("a took %v, want 2s planning and 1s applying", d)
	}
	b.Reset()
	narrow := NewProgress(&b, true, 12)
	narrow.Observe(plan.Event{Host: "web-1", Step: plan.StepFailed, Err: "unreachable"})
	if want := "\r\x1b[Khost web-1…\n"; b.String() != want {
		t.Errorf("on a narrow terminal got %q, want %q", b.String(), want)
	}
	var nilp *Progress
	nilp.Observe(plan.Event{Host: "a"})
	nilp.Break()
	if nilp.Elapsed("a") != 0 {
		t.Error("a nil Progress timed a host")
	}
}

// TestSummary checks the summary's lines.
func TestSummary(t *testing.T) {
	var b bytes.Buffer
	Summary(&b, []HostResult{
		{Host: "web-1", Arch: "x86_64", Result: ResultOK, Added: 3, Seconds: 1.5},
		{Host: `edge["e-1"]`, Arch: "aarch64", Result: ResultFailed, Reason: "host edge[\"e-1\"]: unreachable", Seconds: 0.25},
		{Host: "db", Result: ResultDrift, Differences: 2},
		{Host: "c", Arch: "x86_64", Result: ResultChanges, Changed: 1},
		{Host: "d", Arch: "x86_64", Result: ResultNotApplied, Reason: "another host of the plan was refused"},
	}, false)
	want := `
Summary: 5 hosts, 1 failed:
  web-1        x86_64      1.50s  ok: 3 added, 0 changed, 0 destroyed
  edge["e-1"]  aarch64     0.25s  failed: host edge["e-1"]: unreachable
  db           -           0.00s  drift: 2 difference(s)
  c            x86_64      0.00s  0 to add, 1 to change, 0 to destroy
  d            x86_64      0.00s  not applied: another host of the plan was refused
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), strings.ReplaceAll(want, " ", "·"))
	}
}
