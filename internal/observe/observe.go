// Package observe is what a recording saw: every syscall a program, its
// threads and its children made, in the order they were made, with their
// raw arguments and results. `fencer record` fills a Recording (from the
// tracer's output); the policy writer reads one. Nothing here decodes an
// argument: a value is the 64-bit register as the kernel received it, and
// what it means (an fd, a flag set, an address) is the reader's business.
package observe

import (
	"strconv"
	"time"
)

// Recording is one run of a program under the recorder.
type Recording struct {
	// Arch is the architecture the program ran on (arch.Arch's Name:
	// "x86_64", "aarch64", ...). Every call's Nr and Name are that
	// architecture's; a call through another entry point (a 32-bit int
	// $0x80 on x86_64) is recorded with Foreign set.
	Arch string
	// Command is the program and its arguments as the recorder ran them.
	Command []string
	// Unit is the systemd unit recorded, "" for `record -- CMD`.
	Unit string
	// Fds are the descriptors the program had when it started, from the
	// unit (its standard input and output, its socket units' sockets) or,
	// for a command, the recorder's own standard input and output.
	Fds []Fd
	// Calls are every syscall entry seen, in the order the tracer saw
	// them (across threads: the order of entry) — for a long run, every
	// call up to a bound, then only calls unlike those kept (see Omitted).
	Calls []Call
	// Omitted counts the calls seen but not kept in Calls, by syscall
	// (Call.Key). A long run (a daemon making millions of calls) keeps
	// its first calls whole, start-up included; past the recorder's bound
	// it keeps a call only when few calls with the same syscall and the
	// same small argument values (fds, flags, not addresses) were kept,
	// and counts the others here. The number of calls of a syscall seen
	// is its calls in Calls plus its count here. Nil when nothing was
	// left out.
	Omitted map[string]int64
	// Ended says why the recording stopped.
	Ended End
	// ExitStatus is the program's exit status when Ended is Exited, its
	// signal number when Ended is Killed.
	ExitStatus int
	// Elapsed is the time from the program's start to the recording's end.
	Elapsed time.Duration
}

// End is why a recording stopped.
type End int

const (
	// Exited: the program's first process exited by itself.
	Exited End = iota
	// Killed: the program's first process died of a signal.
	Killed
	// Timeout: the duration the user gave ran out; the program was stopped.
	Timeout
	// Interrupted: the user interrupted the recording; the program was stopped.
	Interrupted
)

// Fd is a descriptor the program started with.
type Fd struct {
	// Number is the descriptor's number in the program's first process.
	Number int
	// Name is what a configuration calls it (the fd block's label):
	// "stdin", "stdout", "stderr", or a socket's name ("http", from its
	// socket unit's FileDescriptorName= or the unit's name).
	Name string
	// Kind is the fd block attribute that binds it: "stdin", "stdout",
	// "stderr", "listen_stream", "listen_datagram",
	// "listen_sequential_packet", or "number" when only the number is
	// known.
	Kind string
	// Value is the binding's value as the fd block writes it:
	// "journal", "append:/var/log/x.log", "127.0.0.1:8080", ... ("" for
	// Kind "number").
	Value string
}

// Call is one syscall made by one thread.
type Call struct {
	// PID is the thread group (process) that made the call, TID the
	// thread. The program's first process has the first call's PID.
	PID, TID int
	// Nr is the syscall number on the recording's architecture; Name its
	// name in fencer's tables ("openat"), or "" when the number has none.
	Nr   int
	Name string
	// Args are the six argument registers, as 64-bit values. Arguments the
	// syscall does not have are zero.
	Args [6]uint64
	// Returned is false for a call that never returned to the thread (an
	// exit, a successful execve seen from the old program, a thread killed
	// meanwhile).
	Returned bool
	// Ret is the return value: the result on success, minus the errno on
	// failure (-2 for ENOENT), as the raw register reads.
	Ret int64
	// Start is when the call was entered, from the program's start; Dur is
	// how long the thread spent in it (zero when it did not return).
	Start, Dur time.Duration
	// CloneFlags are clone3's flags, read from its struct clone_args by
	// the recorder (its Args[0] is the struct's address); for clone they
	// are the flags register (Args[0] on most architectures) and this is
	// zero.
	CloneFlags uint64
	// Text is, per argument, the string it points to when the recorder
	// read one (a path): for comments only, since a filter never sees it.
	Text [6]string
	// Foreign is set for a call through another architecture's entry point
	// (a 32-bit int $0x80 on x86_64); Nr is then that entry's number.
	Foreign bool
}

// Key names the call's syscall: its Name, "nr N" when it has none, with
// "foreign " in front for a call through another architecture's entry.
func (c *Call) Key() string {
	k := c.Name
	if k == "" {
		k = "nr " + strconv.Itoa(c.Nr)
	}
	if c.Foreign {
		k = "foreign " + k
	}
	return k
}
