// Package loader is the loader: what "fencer exec" does on a host when
// systemd starts a service with enforce = "exec", before the service's own
// program runs (Loader). It runs in a different process, at a different
// time, from planning and applying; they use it for what the loader needs
// of a drop-in's SystemCallFilter= (Syscalls), to check a filter file as
// the loader will (CheckFilter), and for the fencer binary plan installs
// as a host's loader (Self).
package loader

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Exit statuses of a loader that fails before the command runs, as a
// shell uses them.
const (
	// ExitError: the filter file or its installation failed.
	ExitError = 1
	// ExitCannotExec: the command exists but cannot be executed.
	ExitCannotExec = 126
	// ExitNotFound: the command does not exist.
	ExitNotFound = 127
)

// maxFilterBytes is the size of the longest program the kernel accepts.
const maxFilterBytes = bpf.MaxInsns * 8

// Error is a failure of the loader before the command started. The
// command has not run: every check is made before anything is installed,
// and a failure of execve itself leaves the loader's process, not the
// command, to exit.
type Error struct {
	// Code is the exit status to report: ExitError,
	// ExitCannotExec or ExitNotFound.
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// loaderErr wraps err with the exit status code.
func loaderErr(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Loader is one run of "fencer exec": it checks a compiled filter file,
// installs the filter on the calling thread and replaces the process with
// a command, which inherits the filter.
//
// Exec makes every check before it installs anything, and installs the
// filter as the very last step before execve:
//
//  1. The file must hash to SHA256, be a whole number of struct
//     sock_filter in native byte order, be a program the kernel accepts
//     (bpf.Validate), and start with fencer's prologue, `ld [4]` (the
//     architecture) then `jeq #AUDIT_ARCH`, for the running architecture.
//  2. The command must resolve, as execve needs it: a path containing a
//     slash is taken as it is, any other name is looked up in PATH.
//  3. The filter, run in fencer's interpreter on the exact execve the
//     loader is about to make, must allow it, or send it through the
//     exec-once gate: otherwise the command could never start.
//
// Then, on one locked OS thread, it sets no_new_privs, installs the filter
// for that thread only (seccomp without SECCOMP_FILTER_FLAG_TSYNC) and calls
// execve, with no other syscall in between. The command runs with the
// loader's environment and with the signal dispositions, signal mask and
// RLIMIT_NOFILE the loader was started with, as far as the Go runtime lets
// them be recovered (see the Linux implementation).
//
// # Exec once
//
// A policy that names execve in no rule answers it with
// SECCOMP_RET_USER_NOTIF (policy.ExecOnce): the loader's own execve is let
// through, and every later one, by the command, any thread of it or any
// child, fails with ENOSYS before anything is executed. The loader makes
// this so when the program can return USER_NOTIF:
//
//   - before anything is installed it checks that the kernel has user
//     notifications (SECCOMP_GET_ACTION_AVAIL, Linux 5.0), and refuses to
//     start the command otherwise;
//   - it starts a helper goroutine, on another thread, which the filter
//     never covers (it is installed on the loader's thread alone), and
//     installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER; the kernel
//     refuses that with EBUSY when a filter the process already runs under
//     has a listener (a container runtime's, say), and the loader then
//     refuses to start the command, saying why;
//   - the helper receives the notification of the loader's execve, checks
//     that it comes from the loader's thread, is execve on this
//     architecture and has the loader's very arguments, and answers it with
//     SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5; on 5.0 to 5.4 the kernel
//     refuses the flag, the helper says so and closes the listener, and the
//     execve fails with ENOSYS). Anything else gets ENOSYS. A signal that
//     interrupts the execve while it waits (a stop, say) makes the kernel
//     withdraw the notification and, once the execve is made again, send
//     a new one, which the helper answers in turn;
//   - the listener is close-on-exec, and execve ends every other thread,
//     the helper's included: from the command's first instruction on,
//     nothing listens, and the kernel fails every execve the filter sends
//     to the listener with ENOSYS without running it.
//
// A later execve is so failed, not killed as default_action may say: the
// filter cannot tell the loader's execve from a later one, and what could,
// the listener, is gone. A supervisor that lived on beside the command to
// kill it instead, or a check of the instruction pointer (which the
// command can place a syscall instruction at) were weighed and left out;
// see "Exec once" in docs/language.md.
type Loader struct {
	// Filter is the path of the filter file, as "fencer export bpf" writes
	// it for the running architecture.
	Filter string
	// SHA256 is the file's expected SHA-256, in hex.
	SHA256 string
	// Command is the command and its arguments. Command[0] is resolved as
	// a shell would: with a slash, as a path; without one, through PATH.
	Command []string
	// Argv0, when set, is the argv[0] the command receives instead of
	// Command[0].
	Argv0 string
	// Env is the command's environment.
	Env []string
	// IgnoreSIGPIPE starts the command with SIGPIPE ignored, as systemd
	// starts services by default (IgnoreSIGPIPE=yes); otherwise SIGPIPE
	// has its default action. The Go runtime does not say what the
	// loader inherited, so the caller must.
	IgnoreSIGPIPE bool
}

// Exec checks the filter and the command, installs the filter and execs the
// command. It returns only on failure, with a *Error; when it returns,
// the command has not run.
func (l *Loader) Exec() error {
	prep, err := l.prepare()
	if err != nil {
		return err
	}
	return prep.exec()
}

// prepared is everything Exec needs once the checks have passed.
type prepared struct {
	prog bpf.Program
	arch *arch.Arch
	// path is the command's resolved path; argv its arguments, argv[0]
	// included.
	path string
	argv []string
	env  []string
	// ignoreSIGPIPE is Loader.IgnoreSIGPIPE.
	ignoreSIGPIPE bool
}

// prepare makes every check that comes before the installation.
func (l *Loader) prepare() (*prepared, error) {
	if len(l.Command) == 0 || l.Command[0] == "" {
		return nil, loaderErr(ExitError, "no command to run")
	}
	host, err := HostArch()
	if err != nil {
		return nil, &Error{Code: ExitError, Err: err}
	}
	data, err := readFilterFile(l.Filter)
	if err != nil {
		return nil, &Error{Code: ExitError, Err: err}
	}
	prog, err := CheckFilter(data, l.SHA256, host)
	if err != nil {
		return nil, &Error{Code: ExitError, Err: fmt.Errorf("filter %s: %w", l.Filter, err)}
	}
	path, err := ResolveCommand(l.Command[0])
	if err != nil {
		return nil, err
	}
	argv := append([]string(nil), l.Command...)
	if l.Argv0 != "" {
		argv[0] = l.Argv0
	}
	for _, s := range append(append([]string{path}, argv...), l.Env...) {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, loaderErr(ExitError, "argument or environment string %q contains a NUL byte", s)
		}
	}
	return &prepared{prog: prog, arch: host, path: path, argv: argv, env: l.Env, ignoreSIGPIPE: l.IgnoreSIGPIPE}, nil
}

// HostArch is the architecture fencer runs on, as a filter names it.
func HostArch() (*arch.Arch, error) {
	a, ok := arch.Lookup(runtime.GOARCH)
	if !ok {
		return nil, fmt.Errorf("fencer has no seccomp tables for GOARCH %s", runtime.GOARCH)
	}
	return a, nil
}

// CheckFilter checks a filter file's contents for the loader: their SHA-256
// must be wantSHA256 (hex, either case), they must decode as a program in
// host's byte order that the kernel accepts, and the program must start
// with fencer's prologue for host: `ld [4]` then `jeq #AUDIT_ARCH`. A
// program for another architecture is refused with both architectures
// named.
func CheckFilter(data []byte, wantSHA256 string, host *arch.Arch) (bpf.Program, error) {
	want, err := hex.DecodeString(wantSHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("-sha256 %q is not a SHA-256 in hex (64 hex digits)", wantSHA256)
	}
	if got := sha256.Sum256(data); string(got[:]) != string(want) {
		return nil, fmt.Errorf("SHA-256 is %x, want %s: the file is not the planned filter (changed, truncated or replaced)",
			got, strings.ToLower(wantSHA256))
	}
	if len(data) == 0 {
		return nil, errors.New("the file is empty: a filter has at least one instruction")
	}
	if len(data)%8 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of 8-byte instructions (struct sock_filter): the file is truncated or not a filter", len(data))
	}
	if len(data) > maxFilterBytes {
		return nil, fmt.Errorf("%d instructions: the kernel accepts at most %d", len(data)/8, bpf.MaxInsns)
	}
	prog, err := bpf.Decode(data, host.Order)
	if err != nil {
		return nil, err
	}
	audit, ok := prologueArch(prog)
	if !ok {
		if other := foreignOrderArch(data, host.Order); other != nil {
			return nil, fmt.Errorf("the filter is for %s (AUDIT_ARCH %#x, %s), but this machine is %s (AUDIT_ARCH %#x)",
				other.Name, other.Audit, orderName(other.Order), host.Name, host.Audit)
		}
		return nil, fmt.Errorf("the program does not start with fencer's prologue (ld [4]; jeq #AUDIT_ARCH): it was not compiled by fencer for this machine (%s)", host.Name)
	}
	if audit != host.Audit {
		return nil, fmt.Errorf("the filter is for %s (AUDIT_ARCH %#x), but this machine is %s (AUDIT_ARCH %#x)",
			auditName(audit), audit, host.Name, host.Audit)
	}
	if err := bpf.Validate(prog); err != nil {
		return nil, fmt.Errorf("the kernel would refuse the program: %w", err)
	}
	return prog, nil
}

// prologueArch returns the AUDIT_ARCH value p's prologue compares with:
// fencer's programs start with `ld [4]` and `jeq #AUDIT_ARCH`.
func prologueArch(p bpf.Program) (uint32, bool) {
	if len(p) < 2 {
		return 0, false
	}
	ld, jeq := p[0], p[1]
	if ld.Code != bpf.ClassLD|bpf.SizeW|bpf.ModeABS || ld.K != bpf.OffArch {
		return 0, false
	}
	if jeq.Code != bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK {
		return 0, false
	}
	return jeq.K, true
}

// foreignOrderArch reads data in the byte order other than order and
// returns the architecture its prologue names, if it names one of that
// byte order: a filter for s390x read on x86_64.
func foreignOrderArch(data []byte, order binary.ByteOrder) *arch.Arch {
	var other binary.ByteOrder = binary.BigEndian
	if order.Uint16([]byte{0, 1}) == 1 { // order is big-endian
		other = binary.LittleEndian
	}
	p, err := bpf.Decode(data[:min(len(data), 16)], other)
	if err != nil {
		return nil
	}
	audit, ok := prologueArch(p)
	if !ok {
		return nil
	}
	for _, a := range arch.All() {
		if a.Audit == audit && a.Order.Uint16([]byte{0, 1}) == other.Uint16([]byte{0, 1}) {
			return a
		}
	}
	return nil
}

// auditName names an AUDIT_ARCH value: an architecture fencer knows, or
// "an unknown architecture".
func auditName(audit uint32) string {
	for _, a := range arch.All() {
		if a.Audit == audit {
			return a.Name
		}
	}
	return "an unknown architecture"
}

func orderName(o binary.ByteOrder) string {
	if o.Uint16([]byte{0, 1}) == 1 {
		return "big-endian"
	}
	return "little-endian"
}

// ResolveCommand finds the file execve runs for name: name itself when it
// contains a slash, else the first executable file of that name in PATH.
// A missing command is a *Error with ExitNotFound, one that
// exists but cannot be executed one with ExitCannotExec.
func ResolveCommand(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	code := ExitCannotExec
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = ExitNotFound
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	if errors.Is(err, exec.ErrDot) {
		return "", loaderErr(ExitCannotExec, "command %q resolves to a path relative to the current directory through PATH; give a path with a slash instead", name)
	}
	if code == ExitNotFound && !strings.Contains(name, "/") {
		return "", loaderErr(code, "command %q not found in PATH", name)
	}
	return "", &Error{Code: code, Err: fmt.Errorf("command %q: %w", name, err)}
}

// execveVerdict runs prog in fencer's interpreter on the seccomp_data of
// execve(path, argv, envp) with the given argument words, as the kernel
// would see it on a, where execve is number nr. The instruction pointer
// is left 0: fencer's programs never read it.
func execveVerdict(prog bpf.Program, a *arch.Arch, nr int, args [6]uint64) (policy.Action, error) {
	vm, err := bpf.NewVM(prog, a.Order)
	if err != nil {
		return policy.Action{}, err
	}
	data := bpf.MakeData(int32(nr), a.Audit, 0, args, a.Order)
	return policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret), nil
}
