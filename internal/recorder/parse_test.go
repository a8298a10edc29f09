package recorder

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// golden are lines strace 6.1 wrote with StraceArgs (from real runs on
// x86_64), in the order it wrote them, with the calls they must give.
const golden = `7562  1796684907.000000 [  59] execve(0x7ffdac3671d0, 0x7ffdac3686d8, 0x7ffdac3686e8) = 0 <0.008491>
7562  1796684907.000100 [  21] access(0x7f6ab174b2a0, 0x4) = -1 ENOENT (No such file or directory) <0.000070>
7562  1796684907.000200 [ 257] openat(-100, "\x2f\x65\x74\x63\x2f\x68\x6f\x73\x74\x6e\x61\x6d\x65", 0x80000) = 3 <0.000019>
7562  1796684907.000250 [ 332] statx(-100, "\x2f\x6e", |0x800, 0x2, 0x7fff77577ad0) = -1 ENOENT (No such file or directory) <0.000010>
7562  1796684907.000300 [   9] mmap(0, 0x2000, 0x3, 0x22, 0xffffffff, 0) = 0x7f6ab1717000 <0.000072>
7562  1796684907.000400 [ 435] clone3({flags=0x3d0f00, child_tid=0x7f6ab8c54990, parent_tid=0x7f6ab8c54990, exit_signal=0, stack=0x7f6ab8454000, stack_size=0x7fff80, tls=0x7f6ab8c546c0} <unfinished ...>
7563  1796684907.000500 [ 334] rseq(0x7f35fe3d5fe0, 0x20, 0, 0x53053053 <unfinished ...>
7562  1796684907.000600 [ 435] <... clone3 resumed> => {parent_tid=[7563]}, 88) = 7563 <0.000189>
7563  1796684907.000700 [ 334] <... rseq resumed>) = 0 <0.000527>
7563  1796684907.000800 [ 262] newfstatat(-100, "\x2f\x65\x74\x63",  <unfinished ...>
7562  1796684907.000900 [ 202] futex(0x7f35fe3d5990, 0x109, 0x5fd4, 0, 0, 0xffffffff <unfinished ...>
7563  1796684907.001000 [ 262] <... newfstatat resumed>{st_mode=0100755, st_size=3, ...}, 0) = 0 <0.000068>
7563  1796684907.001100 [  60] exit(0) = ?
7563  1796684907.001200 [  60] +++ exited with 0 +++
7562  1796684907.001300 [ 202] <... futex resumed>) = 0 <0.000400>
7562  1796684907.001400 [  56] clone(0x1200011, 0, 0, 0x7f35fe3d6a10, 0) = 0x1d8c <0.000561>
7564  1796684907.001500 [  59] execve("\x2f\x62\x69\x6e\x2f\x73\x68", ["\x73\x68"], 0x5562b999ca58 /* 35 vars */ <unfinished ...>
7564  1796684907.001600 [  59] <... execve resumed>) = 0 <0.000312>
7564  1796684907.001700 [ Process PID=7564 runs in 32 bit mode. ]
7564  1796684907.001800 [ 102] socketcall(0x1, 0xffd0c0a0) = 0x3 <0.000030>
7564  1796684907.001900 [   1] exit(0x3) = ?
7564  1796684907.002000 +++ killed by SIGKILL (core dumped) +++
7562  1796684907.002100 [  61] wait4(0xffffffff, 0x7ffd3890052c, 0, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <0.000100>
7562  1796684907.002200 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED} ---
7562  1796684907.002300 [ 231] exit_group(0x7) = ?
7562  1796684907.002400 [ 231] +++ exited with 7 +++
`

func TestGolden(t *testing.T) {
	c := newCollector(arch.X86_64, DefaultLimits)
	p := newParser()
	for i, line := range strings.Split(strings.TrimSuffix(golden, "\n"), "\n") {
		ev, err := p.line(line)
		if err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		c.add(ev)
	}
	if c.bad != 0 {
		t.Fatalf("%d not understood: %s", c.bad, c.badExample)
	}
	rec := c.finish()
	us := time.Microsecond
	a := func(v ...uint64) (r [6]uint64) { copy(r[:], v); return r }
	want := []observe.Call{
		{PID: 7562, TID: 7562, Nr: 59, Name: "execve", Args: a(0x7ffdac3671d0, 0x7ffdac3686d8, 0x7ffdac3686e8), Returned: true, Dur: 8491 * us},
		{PID: 7562, TID: 7562, Nr: 21, Name: "access", Args: a(0x7f6ab174b2a0, 4), Returned: true, Ret: -2, Start: 100 * us, Dur: 70 * us},
		{PID: 7562, TID: 7562, Nr: 257, Name: "openat", Args: a(0xffffff9c, 0, 0x80000), Text: [6]string{1: "/etc/hostname"}, Returned: true, Ret: 3, Start: 200 * us, Dur: 19 * us},
		{PID: 7562, TID: 7562, Nr: 332, Name: "statx", Args: a(0xffffff9c, 0, 0x800, 2, 0x7fff77577ad0), Text: [6]string{1: "/n"}, Returned: true, Ret: -2, Start: 250 * us, Dur: 10 * us},
		{PID: 7562, TID: 7562, Nr: 9, Name: "mmap", Args: a(0, 0x2000, 3, 0x22, 0xffffffff), Returned: true, Ret: 0x7f6ab1717000, Start: 300 * us, Dur: 72 * us},
		{PID: 7562, TID: 7562, Nr: 435, Name: "clone3", Args: a(0, 88), CloneFlags: 0x3d0f00, Returned: true, Ret: 7563, Start: 400 * us, Dur: 189 * us},
		{PID: 7562, TID: 7563, Nr: 334, Name: "rseq", Args: a(0x7f35fe3d5fe0, 0x20, 0, 0x53053053), Returned: true, Start: 500 * us, Dur: 527 * us},
		{PID: 7562, TID: 7563, Nr: 262, Name: "newfstatat", Args: a(0xffffff9c), Text: [6]string{1: "/etc"}, Returned: true, Start: 800 * us, Dur: 68 * us},
		{PID: 7562, TID: 7562, Nr: 202, Name: "futex", Args: a(0x7f35fe3d5990, 0x109, 0x5fd4, 0, 0, 0xffffffff), Returned: true, Start: 900 * us, Dur: 400 * us},
		{PID: 7562, TID: 7563, Nr: 60, Name: "exit", Start: 1100 * us},
		{PID: 7562, TID: 7562, Nr: 56, Name: "clone", Args: a(0x1200011, 0, 0, 0x7f35fe3d6a10), Returned: true, Ret: 7564, Start: 1400 * us, Dur: 561 * us},
		{PID: 7564, TID: 7564, Nr: 59, Name: "execve", Args: a(0, 0, 0x5562b999ca58), Text: [6]string{0: "/bin/sh"}, Returned: true, Start: 1500 * us, Dur: 312 * us},
		{PID: 7564, TID: 7564, Nr: 102, Name: "socketcall", Args: a(1, 0xffd0c0a0), Returned: true, Ret: 3, Start: 1800 * us, Dur: 30 * us, Foreign: true},
		{PID: 7564, TID: 7564, Nr: 1, Name: "exit", Args: a(3), Start: 1900 * us, Foreign: true},
		{PID: 7562, TID: 7562, Nr: 61, Name: "wait4", Args: a(0xffffffff, 0x7ffd3890052c), Start: 2100 * us},
		{PID: 7562, TID: 7562, Nr: 231, Name: "exit_group", Args: a(7), Start: 2300 * us},
	}
	if len(rec.Calls) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(rec.Calls), len(want), rec.Calls)
	}
	for i := range want {
		if !reflect.DeepEqual(rec.Calls[i], want[i]) {
			t.Errorf("call %d:\n got %+v\nwant %+v", i, rec.Calls[i], want[i])
		}
	}
	if rec.Ended != observe.Exited || rec.ExitStatus != 7 || rec.Elapsed != 2400*us {
		t.Errorf("ended %v status %d elapsed %v, want exited 7 after 2.4ms", rec.Ended, rec.ExitStatus, rec.Elapsed)
	}
	if len(c.live) != 0 {
		t.Errorf("threads still live after every exit: %v", c.live)
	}
}

func TestBadLines(t *testing.T) {
	for _, line := range []string{
		"",
		"garbage",
		"12 notatime openat(0) = 3",
		"12 1796684907.000000 [ 257 openat(0) = 3",
		"12 1796684907.000000 [ 257] openat(0 = 3",
		"12 1796684907.000000 [ 257] openat(0)",
		"12 1796684907.000000 +++ exited with x +++",
		"12 1796684907.000000 openat(0) = 3",
	} {
		if _, err := newParser().line(line); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

func TestKilledFirst(t *testing.T) {
	c := newCollector(arch.X86_64, DefaultLimits)
	p := newParser()
	for _, line := range []string{
		"5 1796684907.000000 [  59] execve(0x1, 0x2, 0x3) = 0 <0.000100>",
		"5 1796684907.500000 +++ killed by SIGTERM +++",
	} {
		ev, err := p.line(line)
		if err != nil {
			t.Fatal(err)
		}
		c.add(ev)
	}
	if rec := c.finish(); rec.Ended != observe.Killed || rec.ExitStatus != 15 || rec.Elapsed != 500*time.Millisecond {
		t.Errorf("ended %v status %d elapsed %v, want killed by 15 after 0.5s", rec.Ended, rec.ExitStatus, rec.Elapsed)
	}
}

// TestBounded feeds a million calls: the recording keeps MaxCalls and a
// few of each pattern after, and counts the rest.
func TestBounded(t *testing.T) {
	lim := Limits{MaxCalls: 1000, PatternsPerSyscall: 4, PerPattern: 2}
	c := newCollector(arch.X86_64, lim)
	const n = 1_000_000
	for i := 0; i < n; i++ {
		// read(fd, buf, size) on 10 fds with ever-changing buffers, and a
		// write now and then.
		ev := event{kind: evCall, tid: 9, at: time.Duration(i), nr: 0, name: "read",
			args: fmt.Sprintf("0x%x, 0x%x, 0x1000", i%10, 0x7ffd00000000+i), ret: "0x10"}
		if i%1000 == 0 {
			ev.nr, ev.name, ev.args = 1, "write", "0x2, 0x7ffd00001234, 0x10"
		}
		c.add(ev)
	}
	rec := c.finish()
	if len(rec.Calls) > lim.MaxCalls+2*lim.PatternsPerSyscall*lim.PerPattern {
		t.Fatalf("%d calls kept, more than the bound", len(rec.Calls))
	}
	total := int64(len(rec.Calls))
	for _, v := range rec.Omitted {
		total += v
	}
	if total != n {
		t.Errorf("kept %d plus omitted %v = %d, want %d", len(rec.Calls), rec.Omitted, total, n)
	}
	if rec.Omitted["read"] == 0 || rec.Omitted["write"] == 0 {
		t.Errorf("omitted %v: want read and write counted", rec.Omitted)
	}
}
