package draft

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// LongCall is how long a call of the program's first thread must block
// for the recording's start-up to end there when no waiting syscall
// (epoll_wait, poll, accept, ...) ended it before. Other threads' long
// calls do not count: a worker thread waits on its lock (futex) long
// before the main thread is done starting.
const LongCall = time.Second

// waits are the syscalls that wait for work: a service's start-up ends at
// the first call of one of them (its steady state is what follows).
var waits = map[string]bool{
	"epoll_wait": true, "epoll_pwait": true, "epoll_pwait2": true,
	"poll": true, "ppoll": true, "ppoll_time64": true,
	"select": true, "_newselect": true, "pselect6": true, "pselect6_time64": true,
	"accept": true, "accept4": true,
	"pause": true, "rt_sigsuspend": true, "rt_sigtimedwait": true, "rt_sigtimedwait_time64": true,
	"sigsuspend": true, "io_getevents": true, "io_pgetevents": true,
	"wait4": true, "waitid": true,
}

// analysis is what Write knows of a recording.
type analysis struct {
	rec *observe.Recording
	// calls is parallel to rec.Calls.
	calls []callInfo
	// boundary is the index of the call that ends start-up (the first
	// wait), len(calls) when start-up never ended.
	boundary int
	// why says what ended start-up, for the comments.
	why string
	// stats holds each syscall seen, by canonical name; names sorts them.
	stats map[string]*sysStat
	names []string
	// firstExec is the index of the execve that started the program (its
	// first call, the loader's exec), -1 when the recording has none.
	firstExec int
	// foreign counts the calls through another architecture's entry
	// point; unnamed lists numbers fencer has no name for.
	foreign int
	unnamed map[int]int
	// fds is the provenance of each call's fd arguments.
	fds *fdTracker
	// omitted counts the calls the recorder saw but did not keep, by
	// canonical name (Recording.Omitted).
	omitted map[string]int64
}

// callInfo is what Write knows of one call.
type callInfo struct {
	// name is the canonical syscall name, "" for a call no rule can
	// allow (a foreign one, a number without a name).
	name string
}

// sysStat is one syscall's calls.
type sysStat struct {
	name            string
	idx             []int // indices into rec.Calls
	startup, steady int
	failed          int
}

// analyze reads rec on a.
func analyze(rec *observe.Recording, a *arch.Arch) *analysis {
	an := &analysis{rec: rec, calls: make([]callInfo, len(rec.Calls)), boundary: len(rec.Calls),
		stats: map[string]*sysStat{}, firstExec: -1, unnamed: map[int]int{}}
	for i := range rec.Calls {
		c := &rec.Calls[i]
		if c.Foreign {
			an.foreign++
			continue
		}
		name, ok := callName(c, a)
		if !ok {
			an.unnamed[c.Nr]++
			continue
		}
		an.calls[i].name = name
		if an.boundary == len(rec.Calls) {
			if waits[name] {
				an.boundary, an.why = i, "the first "+name
			} else if c.Dur >= LongCall && c.TID == rec.Calls[0].TID && !exits(name) {
				an.boundary, an.why = i, name+" blocking for "+c.Dur.Round(time.Millisecond).String()
			}
		}
	}
	an.findFirstExec()
	for i := range rec.Calls {
		name := an.calls[i].name
		if name == "" {
			continue
		}
		s := an.stats[name]
		if s == nil {
			s = &sysStat{name: name}
			an.stats[name] = s
			an.names = append(an.names, name)
		}
		s.idx = append(s.idx, i)
		if i < an.boundary {
			s.startup++
		} else {
			s.steady++
		}
		if rec.Calls[i].Returned && rec.Calls[i].Ret < 0 {
			s.failed++
		}
	}
	sort.Strings(an.names)
	an.fds = trackFds(rec, an, a)
	an.countOmitted(a)
	return an
}

// countOmitted reads Recording.Omitted, keyed by Call.Key.
func (an *analysis) countOmitted(a *arch.Arch) {
	an.omitted = map[string]int64{}
	for key, n := range an.rec.Omitted {
		switch {
		case strings.HasPrefix(key, "foreign "):
			an.foreign += int(n)
		case strings.HasPrefix(key, "nr "):
			nr, err := strconv.Atoi(strings.TrimPrefix(key, "nr "))
			if err != nil {
				continue
			}
			if name, ok := a.SyscallName(nr); ok {
				an.omitted[name] += n
			} else {
				an.unnamed[nr] += int(n)
			}
		default:
			if name, ok := a.Canonical(key); ok {
				an.omitted[name] += n
			}
		}
	}
}

// callName is the canonical name of c's syscall on a.
func callName(c *observe.Call, a *arch.Arch) (string, bool) {
	if c.Name != "" {
		if n, ok := a.Canonical(c.Name); ok {
			if nr, ok := a.Syscall(n); ok && nr == c.Nr {
				return n, true
			}
		}
	}
	return a.SyscallName(c.Nr)
}

// exits reports whether the syscall ends its thread or process.
func exits(name string) bool { return name == "exit" || name == "exit_group" }

// findFirstExec finds the execve that started the program: the first call
// of the first process, when it is an execve.
func (an *analysis) findFirstExec() {
	for i, ci := range an.calls {
		if ci.name == "" {
			continue
		}
		if ci.name == "execve" {
			an.firstExec = i
		}
		return
	}
}

// laterExecs counts the execve calls after the program's own.
func (an *analysis) laterExecs() int {
	s := an.stats["execve"]
	if s == nil {
		return 0
	}
	n := len(s.idx)
	if an.firstExec >= 0 {
		n--
	}
	return n
}
