package recorder

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The lines strace writes with the options of Args: every line starts with
// the thread id and the absolute time; a syscall line then has the
// syscall's number in brackets (-n).
//
//	123 1796684907.160826 [ 435] clone3({flags=0x3d0f00, ...}, 88) = 124 <0.000161>
//	124 1796684907.161033 [ 334] rseq(0x7f35fe3d5fe0, 0x20, 0, 0x53053053 <unfinished ...>
//	124 1796684907.161579 [ 334] <... rseq resumed>) = 0 <0.000527>
//	124 1796684907.163407 [  60] exit(0) = ?
//	124 1796684907.163533 [  60] +++ exited with 0 +++
//	123 1796684907.164765 [  41] socket(0x2, 0x80001, 0) = 0x3 <0.000122>
//	123 1796684907.165174 [ 257] openat(-100, "\x2f\x65\x74\x63", 0) = 3 <0.000019>
//	123 1796684907.166705 [  21] access(0x7f6ab174b2a0, 0x4) = -1 ENOENT (No such file or directory) <0.000070>
//	123 1796684907.166929 +++ killed by SIGKILL +++
//	123 1796684907.166929 [ Process PID=123 runs in 32 bit mode. ]

// event is what one line says.
type event struct {
	kind eventKind
	tid  int
	at   time.Duration // since the Unix epoch
	// call: the syscall, complete (a resumed call joined with its start).
	nr   int
	name string // strace's name
	args string // the text between the parentheses
	ret  string // the text after " = ", without the duration: "0x3", "-1 ENOENT (...)", "?"
	dur  time.Duration
	// exit: the status, or the signal for killed.
	status int
	// personality: the mode's bits, 32 or 64 (x32 counts as 64).
	bits int
}

type eventKind int

const (
	evNone        eventKind = iota // a line that says nothing the recording keeps
	evCall                         // a syscall, returned or not
	evExited                       // +++ exited with N +++
	evKilled                       // +++ killed by SIG... +++
	evGone                         // +++ superseded ... +++ and other ends of a thread
	evPersonality                  // [ Process PID=N runs in 32 bit mode. ]
)

// parser joins strace's lines into events: a call split by another
// thread's line ("<unfinished ...>", then "<... NAME resumed>") is one
// event, at its start's time.
type parser struct {
	pending map[int]pendingCall // by thread: the start of an unfinished call
}

type pendingCall struct {
	nr   int
	name string
	text string // "name(args" as far as the first line printed it
	at   time.Duration
}

func newParser() *parser { return &parser{pending: map[int]pendingCall{}} }

// errLine is a line that is not what strace writes with our options.
var errLine = errors.New("not a line of strace's")

// line parses one line (without its newline).
func (p *parser) line(s string) (event, error) {
	tid, at, rest, err := lineHead(s)
	if err != nil {
		return event{}, err
	}
	ev := event{tid: tid, at: at}
	nr := -1
	if strings.HasPrefix(rest, "[") && !strings.HasPrefix(rest, "[ Process") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return event{}, errLine
		}
		if nr, err = strconv.Atoi(strings.TrimSpace(rest[1:end])); err != nil {
			return event{}, errLine
		}
		rest = strings.TrimPrefix(rest[end+1:], " ")
	}
	switch {
	case strings.HasPrefix(rest, "+++ "):
		return p.ended(ev, rest)
	case strings.HasPrefix(rest, "--- "):
		return ev, nil // a signal delivered: -e signal=none hides them, but they may come
	case strings.HasPrefix(rest, "[ Process PID="):
		return personality(ev, rest)
	case nr < 0:
		return event{}, errLine
	case strings.HasPrefix(rest, "<... "):
		return p.resumed(ev, nr, rest)
	}
	return p.call(ev, nr, rest)
}

// lineHead splits "TID SECONDS.MICROS rest".
func lineHead(s string) (tid int, at time.Duration, rest string, err error) {
	f1, r1, ok1 := strings.Cut(s, " ") // strace pads the thread id: "7562  1796..."
	f2, r2, ok2 := strings.Cut(strings.TrimLeft(r1, " "), " ")
	if !ok1 || !ok2 {
		return 0, 0, "", errLine
	}
	if tid, err = strconv.Atoi(f1); err != nil || tid <= 0 {
		return 0, 0, "", errLine
	}
	sec, frac, ok := strings.Cut(f2, ".")
	secs, err1 := strconv.ParseInt(sec, 10, 64)
	micros, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || err1 != nil || err2 != nil || len(frac) != 6 {
		return 0, 0, "", errLine
	}
	return tid, time.Duration(secs)*time.Second + time.Duration(micros)*time.Microsecond, r2, nil
}

// ended reads "+++ exited with N +++", "+++ killed by SIGKILL (core dumped) +++"
// and any other "+++ ... +++" (the thread is gone).
func (p *parser) ended(ev event, rest string) (event, error) {
	body, ok := strings.CutSuffix(strings.TrimPrefix(rest, "+++ "), " +++")
	if !ok {
		return event{}, errLine
	}
	delete(p.pending, ev.tid)
	if n, ok := strings.CutPrefix(body, "exited with "); ok {
		st, err := strconv.Atoi(n)
		if err != nil {
			return event{}, errLine
		}
		ev.kind, ev.status = evExited, st
		return ev, nil
	}
	if sig, ok := strings.CutPrefix(body, "killed by "); ok {
		sig, _, _ = strings.Cut(sig, " ")
		ev.kind, ev.status = evKilled, signalNumber(sig)
		return ev, nil
	}
	ev.kind = evGone
	return ev, nil
}

// personality reads "[ Process PID=123 runs in 32 bit mode. ]" (also
// "64 bit" and "x32").
func personality(ev event, rest string) (event, error) {
	_, mode, ok := strings.Cut(rest, " runs in ")
	if !ok {
		return event{}, errLine
	}
	ev.kind, ev.bits = evPersonality, 64
	if strings.HasPrefix(mode, "32 bit") {
		ev.bits = 32
	}
	return ev, nil
}

// call reads "name(args) = ret <dur>" or the start of an unfinished one.
func (p *parser) call(ev event, nr int, rest string) (event, error) {
	open := strings.IndexByte(rest, '(')
	if open <= 0 {
		return event{}, errLine
	}
	name := rest[:open]
	if start, ok := strings.CutSuffix(rest, " <unfinished ...>"); ok {
		p.pending[ev.tid] = pendingCall{nr: nr, name: name, text: start, at: ev.at}
		return event{kind: evNone, tid: ev.tid, at: ev.at}, nil
	}
	return finish(ev, nr, name, rest)
}

// resumed reads "<... name resumed>args) = ret <dur>" and joins it with
// the thread's unfinished start. A resumption whose start is unknown (the
// line was too long and dropped) is still a call, with no arguments.
func (p *parser) resumed(ev event, nr int, rest string) (event, error) {
	head, tail, ok := strings.Cut(rest, " resumed>")
	if !ok {
		return event{}, errLine
	}
	name := strings.TrimPrefix(head, "<... ")
	start, ok := p.pending[ev.tid]
	delete(p.pending, ev.tid)
	if !ok || start.name != name {
		start = pendingCall{nr: nr, name: name, text: name + "(", at: ev.at}
	}
	ev.at = start.at
	// strace printed the separator before "<unfinished ...>": `f(3, "x", `
	// then `{st_mode=...}, 0) = 0`, or `f({...}` then ` => {...}, 88)`.
	return finish(ev, nr, name, start.text+tail)
}

// finish reads a whole call, "name(args) = ret <dur>", or one whose
// thread went away before it returned, "name(args <unfinished ...>)".
func finish(ev event, nr int, name, text string) (event, error) {
	end := closeParen(text, len(name))
	if end < 0 {
		return event{}, errLine
	}
	ev.kind, ev.nr, ev.name = evCall, nr, name
	ev.args = text[len(name)+1 : end]
	after := strings.TrimSpace(text[end+1:])
	ret, ok := strings.CutPrefix(after, "= ")
	if !ok {
		return event{}, errLine
	}
	if i := strings.LastIndex(ret, " <"); i >= 0 && strings.HasSuffix(ret, ">") {
		d, err := strconv.ParseFloat(ret[i+2:len(ret)-1], 64)
		if err == nil {
			ev.dur = time.Duration(d * float64(time.Second))
			ret = ret[:i]
		}
	}
	ev.ret = ret
	return ev, nil
}

// closeParen returns the index of the parenthesis that closes the one at
// open, skipping brackets, braces, strings and comments; -1 if none.
func closeParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			j := skipString(s, i)
			if j < 0 {
				return -1
			}
			i = j
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				if c != ')' {
					return -1
				}
				return i
			}
		case '/':
			if strings.HasPrefix(s[i:], "/*") {
				j := strings.Index(s[i:], "*/")
				if j < 0 {
					return -1
				}
				i += j + 1
			}
		}
	}
	return -1
}

// skipString returns the index of the quote that ends the string starting
// at s[i], -1 if it does not end.
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// splitArgs splits a call's arguments at the commas outside brackets,
// braces, parentheses, strings and comments.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			if j := skipString(s, i); j >= 0 {
				i = j
			}
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '/':
			if j := strings.Index(s[i:], "*/"); strings.HasPrefix(s[i:], "/*") && j >= 0 {
				i += j + 1
			}
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// argValue reads one argument as strace printed it: a number (hex with
// -X raw and -e raw, else decimal or octal), a string (in hex with -xx,
// returned as text, value 0), a structure or array (value 0), or NULL.
func argValue(s string) (v uint64, text string, err error) {
	switch {
	case strings.HasPrefix(s, `"`):
		text, err = hexString(s)
		return 0, text, err
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["), s == "NULL":
		return 0, "", nil
	}
	num, _, _ := strings.Cut(s, " ") // "0x7ffd /* 35 vars */"
	if strings.Contains(num, "|") {
		// Flags with -X raw: "0x100|0x800", and "|0x800" for statx's
		// AT_STATX_SYNC_AS_STAT, which is 0 (strace 6.1).
		var or uint64
		for _, part := range strings.Split(num, "|") {
			if part == "" {
				continue
			}
			v, _, err := argValue(part)
			if err != nil {
				return 0, "", fmt.Errorf("argument %q: not a number", s)
			}
			or |= v
		}
		return or, "", nil
	}
	if i, err := strconv.ParseInt(num, 0, 64); err == nil {
		if i < 0 && i >= math.MinInt32 {
			// A decoded int (AT_FDCWD as -100): the register holds it
			// zero-extended, as the raw form prints it (0xffffff9c).
			return uint64(uint32(int32(i))), "", nil
		}
		return uint64(i), "", nil
	}
	u, err := strconv.ParseUint(num, 0, 64)
	if err != nil {
		return 0, "", fmt.Errorf("argument %q: not a number", s)
	}
	return u, "", nil
}

// hexString decodes a string strace printed with -xx: "\x2f\x65"... (the
// dots when it was cut at -s).
func hexString(s string) (string, error) {
	end := skipString(s, 0)
	if end < 0 {
		return "", fmt.Errorf("string %q: no closing quote", s)
	}
	body := s[1:end]
	var b strings.Builder
	for i := 0; i < len(body); {
		if body[i] != '\\' || i+1 >= len(body) {
			b.WriteByte(body[i])
			i++
			continue
		}
		if body[i+1] == 'x' && i+4 <= len(body) {
			if n, err := strconv.ParseUint(body[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 4
				continue
			}
		}
		b.WriteByte(body[i+1])
		i += 2
	}
	if strings.HasPrefix(s[end+1:], "...") {
		b.WriteString("...")
	}
	return b.String(), nil
}

// retValue reads a return value: "0x3", "3", "-1 ENOENT (No such file or
// directory)" (minus the errno), "?" (returned false).
func retValue(s string) (ret int64, returned bool, err error) {
	num, rest, _ := strings.Cut(s, " ")
	if num == "?" {
		return 0, false, nil
	}
	if num == "-1" && rest != "" {
		name, _, _ := strings.Cut(rest, " ")
		if e := errnoNumber(name); e > 0 {
			return -int64(e), true, nil
		}
	}
	if i, err := strconv.ParseInt(num, 0, 64); err == nil {
		return i, true, nil
	}
	u, err := strconv.ParseUint(num, 0, 64)
	if err != nil {
		return 0, false, fmt.Errorf("return value %q: not a number", s)
	}
	return int64(u), true, nil
}

// cloneFlags reads flags=... from clone3's decoded struct clone_args.
func cloneFlags(arg string) uint64 {
	_, f, ok := strings.Cut(arg, "flags=")
	if !ok {
		return 0
	}
	f, _, _ = strings.Cut(f, ",")
	f, _, _ = strings.Cut(f, "}")
	v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 64)
	if err != nil {
		return 0
	}
	return v
}
