package recorder

import (
	"fmt"
	"sort"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// Limits bound the memory of a recording: a daemon making millions of
// calls keeps its first MaxCalls calls whole, then, per syscall, calls of
// at most PatternsPerSyscall patterns (the syscall with its small argument
// values: fds, flags, modes; not addresses or sizes), PerPattern of each;
// the rest are counted in Recording.Omitted.
type Limits struct {
	MaxCalls           int
	PatternsPerSyscall int
	PerPattern         int
}

// DefaultLimits keep about 100,000 calls: some tens of megabytes.
var DefaultLimits = Limits{MaxCalls: 100_000, PatternsPerSyscall: 64, PerPattern: 2}

// collector turns strace's events into a Recording.
type collector struct {
	rec      *observe.Recording
	native   *arch.Arch
	foreign  *arch.Arch // the 32-bit entry's architecture, nil if none
	lim      Limits
	t0       time.Duration // the first line's time
	started  bool
	first    int             // the first thread: the program's first process
	mode32   map[int]bool    // threads in 32-bit mode
	tgid     map[int]int     // thread → its process, from clone's results
	live     map[int]bool    // threads seen and not ended
	patterns map[pattern]int // calls kept per pattern, once past MaxCalls
	perNr    map[callNr]int  // patterns per syscall, once past MaxCalls
	// bad counts the lines and arguments not understood; badExample is
	// the first of them.
	bad        int
	badExample string
}

type callNr struct {
	nr      int
	foreign bool
}

type pattern struct {
	callNr
	args   [6]uint64
	failed bool
}

func newCollector(native *arch.Arch, lim Limits) *collector {
	c := &collector{
		rec:      &observe.Recording{Arch: native.Name},
		native:   native,
		lim:      lim,
		mode32:   map[int]bool{},
		tgid:     map[int]int{},
		live:     map[int]bool{},
		patterns: map[pattern]int{},
		perNr:    map[callNr]int{},
	}
	switch native {
	case arch.X86_64:
		c.foreign = arch.I386
	case arch.AArch64:
		c.foreign = arch.ARM
	}
	return c
}

// complain counts something not understood.
func (c *collector) complain(format string, args ...any) {
	if c.bad == 0 {
		c.badExample = fmt.Sprintf(format, args...)
	}
	c.bad++
}

// add takes one event.
func (c *collector) add(ev event) {
	if ev.tid == 0 {
		return
	}
	if !c.started {
		c.started, c.t0, c.first = true, ev.at, ev.tid
	}
	switch ev.kind {
	case evNone:
		c.live[ev.tid] = true
	case evCall:
		c.live[ev.tid] = true
		c.call(ev)
	case evExited, evKilled:
		delete(c.live, ev.tid)
		if ev.tid == c.first {
			c.rec.Ended, c.rec.ExitStatus = observe.Exited, ev.status
			if ev.kind == evKilled {
				c.rec.Ended = observe.Killed
			}
		}
	case evGone:
		delete(c.live, ev.tid)
	case evPersonality:
		c.mode32[ev.tid] = ev.bits == 32
	}
	if d := ev.at - c.t0; d > c.rec.Elapsed {
		c.rec.Elapsed = d
	}
}

// call records one syscall.
func (c *collector) call(ev event) {
	call := observe.Call{TID: ev.tid, Nr: ev.nr, Start: ev.at - c.t0, Dur: ev.dur}
	a := c.native
	if c.mode32[ev.tid] && c.foreign != nil {
		a, call.Foreign = c.foreign, true
	}
	call.Name, _ = a.SyscallName(ev.nr)
	args := splitArgs(ev.args)
	for i, s := range args {
		if i >= len(call.Args) {
			break
		}
		v, text, err := argValue(s)
		if err != nil {
			c.complain("%s: %v", ev.name, err)
		}
		call.Args[i], call.Text[i] = v, text
	}
	if ev.name == "clone3" && len(args) > 0 {
		call.CloneFlags = cloneFlags(args[0])
	}
	ret, returned, err := retValue(ev.ret)
	if err != nil {
		c.complain("%s: %v", ev.name, err)
	}
	call.Ret, call.Returned = ret, returned
	if !returned {
		call.Dur = 0
	}
	c.learnClone(&call)
	c.keep(call)
}

// learnClone notes the process of a thread clone made, from its flags and
// result.
func (c *collector) learnClone(call *observe.Call) {
	if !call.Returned || call.Ret <= 0 {
		return
	}
	var flags uint64
	switch call.Name {
	case "clone":
		if call.Foreign {
			flags = call.Args[0]
		} else {
			flags = call.Args[c.native.CloneFlagsArg()]
		}
	case "clone3":
		flags = call.CloneFlags
	default:
		return
	}
	const cloneThread = 0x10000
	if flags&cloneThread != 0 {
		c.tgid[int(call.Ret)] = c.process(call.TID)
	}
}

// process is the process of thread tid, as far as clone said.
func (c *collector) process(tid int) int {
	if p, ok := c.tgid[tid]; ok {
		return p
	}
	return tid
}

// keep adds call to the recording, or counts it when the recording holds
// enough like it.
func (c *collector) keep(call observe.Call) {
	if len(c.rec.Calls) < c.lim.MaxCalls {
		c.rec.Calls = append(c.rec.Calls, call)
		return
	}
	p := pattern{callNr: callNr{call.Nr, call.Foreign}, failed: call.Ret < 0}
	for i, v := range call.Args {
		if v < 1<<32 || int64(v) >= -4096 {
			p.args[i] = v
		} else {
			p.args[i] = 1 << 63 // an address or other large value
		}
	}
	n, seen := c.patterns[p]
	if !seen && c.perNr[p.callNr] < c.lim.PatternsPerSyscall {
		c.perNr[p.callNr]++
		seen = true
	}
	if seen && n < c.lim.PerPattern {
		c.patterns[p] = n + 1
		c.rec.Calls = append(c.rec.Calls, call)
		return
	}
	if c.rec.Omitted == nil {
		c.rec.Omitted = map[string]int64{}
	}
	c.rec.Omitted[call.Key()]++
}

// finish fills in each call's process once every clone is known (a new
// thread's first call may come before its clone returns).
//
// Calls are put in the order of entry: a call that did not return at once
// came to the collector when it returned, after calls other threads
// entered meanwhile.
func (c *collector) finish() *observe.Recording {
	sort.SliceStable(c.rec.Calls, func(i, j int) bool { return c.rec.Calls[i].Start < c.rec.Calls[j].Start })
	for i := range c.rec.Calls {
		c.rec.Calls[i].PID = c.process(c.rec.Calls[i].TID)
	}
	return c.rec
}
