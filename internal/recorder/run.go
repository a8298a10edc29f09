// Package recorder records every syscall a program, its threads and its
// children make, with their arguments, into an observe.Recording, by
// running the program under strace (Debian's strace 6.1) and reading its
// output as it comes: `fencer record`'s mechanism. docs/record.md says why
// strace and what its output is.
package recorder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// decoded are the syscalls strace decodes rather than prints raw: each has
// a path (or, for clone3, its flags in a structure) and otherwise numbers,
// which -X raw prints as numbers. A "?" in front lets strace ignore a name
// the architecture lacks.
var decoded = []string{
	"open", "openat", "creat", "access", "faccessat", "faccessat2", "execve", "execveat",
	"unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "chdir", "readlink", "readlinkat",
	"stat", "lstat", "newfstatat", "statx", "statfs", "truncate", "chmod", "fchmodat",
	"chown", "lchown", "fchownat", "rename", "renameat", "renameat2", "link", "linkat",
	"symlink", "symlinkat", "mknod", "mknodat", "inotify_add_watch", "clone3",
}

// StraceArgs are the options of strace that write to out the lines this
// package reads: every thread and child (-f), absolute times (-ttt) and
// durations (-T), syscall numbers (-n), every argument as a number (-X
// raw, -e raw=) but for the paths of the decoded syscalls, strings in hex
// (-xx, so that nothing in a string looks like syntax), no signal lines
// and no attach messages.
func StraceArgs(out string) []string {
	raw := make([]string, len(decoded))
	for i, n := range decoded {
		raw[i] = "?" + n
	}
	return []string{"-f", "-q", "-n", "-X", "raw", "-xx", "-s", "256",
		"-e", "raw=!" + strings.Join(raw, ","), "-e", "signal=none", "-ttt", "-T", "-o", out}
}

// MaxLine bounds a line of strace's output; a longer one (an execve with
// thousands of arguments) is skipped and counted as not understood.
const MaxLine = 1 << 20

// Options say how to record.
type Options struct {
	// Strace is the strace binary; "" looks "strace" up in PATH.
	Strace string
	// Limits bound the memory of the recording; zero fields take
	// DefaultLimits'.
	Limits Limits
	// Stdin, Stdout and Stderr are the program's; nil is /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Grace is how long the program has to exit after SIGTERM when the
	// recording is stopped, before the traced tree is killed (default 3 s).
	Grace time.Duration
}

func (o *Options) defaults() error {
	if o.Strace == "" {
		p, err := exec.LookPath("strace")
		if err != nil {
			return fmt.Errorf("strace is needed to record (Debian: apt-get install strace): %w", err)
		}
		o.Strace = p
	}
	if o.Limits.MaxCalls == 0 {
		o.Limits.MaxCalls = DefaultLimits.MaxCalls
	}
	if o.Limits.PatternsPerSyscall == 0 {
		o.Limits.PatternsPerSyscall = DefaultLimits.PatternsPerSyscall
	}
	if o.Limits.PerPattern == 0 {
		o.Limits.PerPattern = DefaultLimits.PerPattern
	}
	if o.Grace == 0 {
		o.Grace = 3 * time.Second
	}
	return nil
}

// Native is the architecture this machine's programs run on.
func Native() (*arch.Arch, error) {
	a, ok := arch.Lookup(runtime.GOARCH)
	if !ok {
		return nil, fmt.Errorf("recording on %s: fencer has no tables for it", runtime.GOARCH)
	}
	return a, nil
}

// Command runs argv under strace and records it from its execve until it
// exits or ctx ends. When ctx ends, the program gets SIGTERM, then, after
// Grace, every process and thread of it still traced gets SIGKILL: nothing
// is left running or stopped. The recording's Ended says which:
// Timeout when ctx's cause is context.DeadlineExceeded, else Interrupted.
func Command(ctx context.Context, argv []string, opt Options) (*observe.Recording, error) {
	if len(argv) == 0 {
		return nil, errors.New("recording: no command")
	}
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	native, err := Native()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fencer-record-")
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "trace")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	args := append(StraceArgs(fifo), "--")
	cmd := exec.Command(opt.Strace, append(args, argv...)...)
	// A nil *os.File in an io.Reader would close the fd: assign only files.
	if opt.Stdin != nil {
		cmd.Stdin = opt.Stdin
	}
	if opt.Stdout != nil {
		cmd.Stdout = opt.Stdout
	}
	if opt.Stderr != nil {
		cmd.Stderr = opt.Stderr
	}
	// A group of its own: the terminal's ^C reaches fencer, which stops
	// the program itself, and not strace or the program directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	col := newCollector(native, opt.Limits)
	col.rec.Command = append([]string(nil), argv...)
	col.rec.Fds = []observe.Fd{{Number: 0, Name: "stdin", Kind: "number"},
		{Number: 1, Name: "stdout", Kind: "number"}, {Number: 2, Name: "stderr", Kind: "number"}}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("recording: starting strace: %w", err)
	}
	t := &trace{col: col, fifo: fifo, opt: opt}
	return t.run(ctx, cmd)
}

// trace is one strace run being read.
type trace struct {
	mu   sync.Mutex // guards col, which the reader fills and stop reads
	col  *collector
	fifo string
	opt  Options
}

// run reads strace's output until it exits, stopping the program when ctx
// ends.
func (t *trace) run(ctx context.Context, cmd *exec.Cmd) (*observe.Recording, error) {
	read := make(chan error, 1)
	go func() { read <- t.read() }()
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		unblockFifo(t.fifo) // strace died before opening its output
		exited <- err
	}()
	var waitErr error
	stopped := false
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		stopped = true
		waitErr = t.stop(cmd, exited)
	}
	readErr := <-read
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.col.finish()
	if stopped {
		rec.Ended = stoppedBy(ctx)
	}
	if readErr != nil {
		return nil, fmt.Errorf("recording: reading strace's output: %w", readErr)
	}
	if !t.col.started {
		return nil, fmt.Errorf("recording: strace recorded nothing (%v): is %s a program strace can run?", waitErr, quoteArgv(rec.Command))
	}
	if t.col.bad > 0 {
		return rec, fmt.Errorf("recording: %d lines or values of strace's output not understood, the first: %s", t.col.bad, t.col.badExample)
	}
	return rec, nil
}

// stop ends the program: SIGTERM to its first process, then SIGKILL to
// every process still traced, then to strace's group; it returns strace's
// exit.
func (t *trace) stop(cmd *exec.Cmd, exited <-chan error) error {
	t.mu.Lock()
	first := t.col.first
	alive := t.col.live[first]
	t.mu.Unlock()
	if alive {
		_ = syscall.Kill(first, syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(t.opt.Grace):
		}
	}
	t.mu.Lock()
	for tid := range t.col.live {
		_ = syscall.Kill(tid, syscall.SIGKILL)
	}
	t.mu.Unlock()
	select {
	case err := <-exited:
		return err
	case <-time.After(2 * time.Second):
	}
	// strace did not see its tracees die: its group, itself included.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return <-exited
}

// read opens the fifo and parses every line strace writes into it.
func (t *trace) read() error {
	f, err := os.Open(t.fifo)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.parse(f)
}

// parse reads lines from r into the collector.
func (t *trace) parse(r io.Reader) error {
	p := newParser()
	br := bufio.NewReaderSize(r, MaxLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			t.mu.Lock()
			t.col.complain("a line longer than %d bytes", MaxLine)
			t.mu.Unlock()
			if err = skipLine(br); err != nil {
				return nilAtEOF(err)
			}
			continue
		}
		if len(line) > 0 && (err == nil || errors.Is(err, io.EOF)) {
			s := strings.TrimSuffix(string(line), "\n")
			ev, perr := p.line(s)
			t.mu.Lock()
			if perr != nil {
				t.col.complain("%q: %v", s, perr)
			} else {
				t.col.add(ev)
			}
			t.mu.Unlock()
		}
		if err != nil {
			return nilAtEOF(err)
		}
	}
}

func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

func nilAtEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// unblockFifo opens the fifo for writing and closes it, so that a reader
// still waiting in open (strace never opened it) sees the end.
func unblockFifo(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		f.Close()
	}
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// stoppedBy says why a recording the recorder stopped ended: the -for
// duration (ctx's deadline) or an interruption.
func stoppedBy(ctx context.Context) observe.End {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return observe.Timeout
	}
	return observe.Interrupted
}
