package views

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fencer-dev/fencer/plan"
)

// Progress shows where each host is while plan, apply, destroy or verify
// work on several hosts at once (plan.Event), and times each host. On a
// terminal it keeps one line per host and rewrites them in place;
// elsewhere it writes one line per event ("host web-1: applying 2/5").
// Its methods may be called from several goroutines at once, and on a
// nil Progress, which shows nothing.
type Progress struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	// width is the terminal's, in columns: lines are cut to fit it, so
	// that none wraps and each host's stays one row.
	width int
	now   func() time.Time
	hosts []string
	state map[string]string
	// drawn is how many lines of the current block are on the terminal.
	drawn int
	// spent is each host's time in earlier blocks; since the start of
	// its part of the current block, and last its latest event.
	spent       map[string]time.Duration
	since, last map[string]time.Time
}

// NewProgress returns a Progress writing to w, a terminal width columns
// wide when tty (80 when width is 0, unknown).
func NewProgress(w io.Writer, tty bool, width int) *Progress {
	if width <= 0 {
		width = 80
	}
	return &Progress{w: w, tty: tty, width: width, now: time.Now, state: map[string]string{},
		spent: map[string]time.Duration{}, since: map[string]time.Time{}, last: map[string]time.Time{}}
}

// Observe records and shows one event.
func (p *Progress) Observe(e plan.Event) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if _, ok := p.state[e.Host]; !ok {
		p.hosts = append(p.hosts, e.Host)
	}
	if _, ok := p.since[e.Host]; !ok {
		p.since[e.Host] = now
	}
	p.last[e.Host] = now
	p.state[e.Host] = stepText(e)
	if !p.tty {
		fmt.Fprintf(p.w, "host %s: %s\n", e.Host, p.state[e.Host])
		return
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	for _, h := range p.hosts {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", cut(fmt.Sprintf("host %s: %s", h, p.state[h]), p.width-1))
	}
	p.drawn = len(p.hosts)
}

// Break ends the current block of lines, before other output (the plan,
// a question): the next event starts a new block below it. The time
// between blocks counts for no host.
func (p *Progress) Break() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for h, s := range p.since {
		p.spent[h] += p.last[h].Sub(s)
	}
	p.since = map[string]time.Time{}
	p.hosts, p.state, p.drawn = nil, map[string]string{}, 0
}

// Elapsed is the time host was worked on: from its first event to its
// last, in each block.
func (p *Progress) Elapsed(host string) time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.spent[host]
	if s, ok := p.since[host]; ok {
		d += p.last[host].Sub(s)
	}
	return d
}

// stepText is an event in words.
func stepText(e plan.Event) string {
	switch {
	case e.Step == plan.StepApplying && e.Total > 0:
		return fmt.Sprintf("applying %d/%d", e.Done, e.Total)
	case e.Step == plan.StepFailed && e.Err != "":
		return "failed: " + e.Err
	}
	return e.Step.String()
}

// cut shortens s to at most n runes, ending it with "…" when it cuts.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 1 {
		return s
	}
	return string(r[:n-1]) + "…"
}
