//go:build linux && cgo && amd64

package kernel

/*
#cgo CFLAGS: -Wall -Wextra
#include "probe_linux.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

var native = binary.NativeEndian

// Request and answer layout; see probe_linux_amd64.c.
const (
	protoMagic = uint64(C.PROTO_MAGIC)
	recWords   = int(C.REC_WORDS)
	callWords  = 8
	maxInsns   = int(C.MAX_INSNS)
	maxCalls   = int(C.MAX_CALLS)
)

// Seccomp actions as the kernel ranks them (linux/seccomp.h).
const (
	retActionFull = 0xffff0000
	retUserNotif  = 0x7fc00000
	retLog        = 0x7ffc0000
	retAllow      = 0x7fff0000
)

// record is one answer record (struct record in the C code).
type record struct {
	how, wstatus, pstate, pret, trapErrno, trapSyscall, trapArch, mstate, merr int64
	nr, arch, ip                                                               int64
	args                                                                       [6]uint64
}

// Load installs the program in a throwaway process and reports whether the
// kernel accepts it: nil, or an error wrapping the errno the kernel refused
// it with (errors.Is(err, syscall.EINVAL), ...).
func Load(p bpf.Program) error {
	_, err := run(p, nil, nil)
	return err
}

// Probe installs the program and makes each call under it, each in a
// throwaway process, and reports what the kernel did. No call takes effect.
// It fails if the kernel refuses the program (as Load), for programs whose
// verdicts it cannot observe (see the package doc), and for Compat calls
// where i386 syscalls cannot run (wrapping ErrNoCompat).
func Probe(p bpf.Program, calls []Call) ([]Verdict, error) {
	if len(calls) > maxCalls {
		return nil, fmt.Errorf("kernel probe: %d calls, at most %d per Probe", len(calls), maxCalls)
	}
	for i, in := range p {
		if in.Code == bpf.ClassRET|bpf.RetK && hiddenAction(in.K) {
			return nil, fmt.Errorf("kernel probe: instruction %d returns %#x, an action the probe cannot tell from allow", i, in.K)
		}
	}
	// Calls the kernel is known not to filter are not sent; the others are
	// checked first unless known to be filtered.
	out := make([]Verdict, len(calls))
	var sent []Call
	var check []bool
	var index []int
	for i, c := range calls {
		unfiltered, known := filtering.get(c)
		if known && unfiltered {
			out[i] = unfilteredVerdict
			continue
		}
		sent = append(sent, c)
		check = append(check, !known)
		index = append(index, i)
	}
	recs, err := run(p, sent, check)
	if err != nil {
		return nil, err
	}
	for j, c := range sent {
		if check[j] {
			switch recs[j].how {
			case C.HOW_UNFILTERED:
				filtering.set(c, true)
			case C.HOW_RAN, C.HOW_PARENT_TIMEOUT, C.HOW_OUTER_FILTER:
				filtering.set(c, false)
			}
		}
		v, err := verdict(c, recs[j])
		if err != nil {
			return nil, fmt.Errorf("kernel probe: call %d (%s): %w", index[j], c, err)
		}
		out[index[j]] = v
	}
	return out, nil
}

var unfilteredVerdict = Verdict{Action: policy.ActAllow, Passed: true, Unfiltered: true}

// filterKey is what the kernel's exemption of a call from seccomp depends
// on: the arch and the number (seccomp_uprobe_exception).
type filterKey struct {
	nr     uint32
	compat bool
}

// filtering remembers, per arch and number, whether the kernel runs
// seccomp filters for a call, as the prober found out (check_filtered in
// the C code): each is checked once per process.
var filtering filterCache

type filterCache struct {
	mu         sync.Mutex
	unfiltered map[filterKey]bool
}

func (f *filterCache) get(c Call) (unfiltered, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	unfiltered, known = f.unfiltered[filterKey{uint32(c.Nr), c.Compat}]
	return unfiltered, known
}

func (f *filterCache) set(c Call, unfiltered bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unfiltered == nil {
		f.unfiltered = map[filterKey]bool{}
	}
	f.unfiltered[filterKey{uint32(c.Nr), c.Compat}] = unfiltered
}

// hiddenAction reports whether a filter's return value ranks below the
// shield's USER_NOTIF without being LOG or ALLOW, so that the shield would
// make it look like allow.
func hiddenAction(ret uint32) bool {
	a := int32(ret & retActionFull)
	return a > retUserNotif && a != retLog && a != retAllow
}

var supported = sync.OnceValue(func() error {
	// Allow getpid, errno(1) for anything else.
	p := bpf.Program{
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 39, 0, 1),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetErrno|1),
	}
	if err := Load(p); err != nil {
		return envError{err}
	}
	v, err := Probe(p, []Call{{Nr: 39}, {Nr: 110}})
	if err != nil {
		return err
	}
	want := []Verdict{{Action: policy.ActAllow, Passed: true}, {Action: policy.Action{Kind: policy.Errno, Data: 1}}}
	for i := range want {
		if v[i] != want[i] {
			return fmt.Errorf("kernel probe self-test: call %d: got %+v, want %+v", i, v[i], want[i])
		}
	}
	return nil
})

// Supported reports whether probes can run here: nil, or why not. It runs
// a small probe once and remembers the answer. Errors that come from the
// environment match ErrUnsupported; any other error is a bug.
func Supported() error { return supported() }

// String spells the call for error messages.
func (c Call) String() string {
	var b strings.Builder
	if c.Compat {
		b.WriteString("i386 ")
	}
	fmt.Fprintf(&b, "nr %#x(", uint32(c.Nr))
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%#x", a)
	}
	b.WriteString(")")
	return b.String()
}

// run sends the program and the calls to a prober process and returns its
// records, one per call. The prober first checks that the kernel filters
// calls[i] at all where check[i] is set.
func run(p bpf.Program, calls []Call, check []bool) ([]record, error) {
	if C.fencer_kernel_probe_abi() != C.REC_WORDS {
		return nil, errors.New("kernel probe: C and Go halves disagree")
	}
	if os.Getenv(C.PROBE_ENV) != "" {
		// The constructor should have taken this process over: do not
		// re-execute ourselves again.
		return nil, errors.New("kernel probe: the probe constructor did not run in this process")
	}
	if len(p) > maxInsns {
		return nil, fmt.Errorf("kernel probe: %d instructions do not fit in struct sock_fprog", len(p))
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, envError{fmt.Errorf("kernel probe: %w", err)}
	}

	req := make([]byte, 0, 24+8*len(p)+8*callWords*len(calls))
	req = native.AppendUint64(req, protoMagic)
	req = native.AppendUint64(req, uint64(len(p)))
	req = native.AppendUint64(req, uint64(len(calls)))
	req = append(req, p.Encode(native)...)
	for i, c := range calls {
		var flags uint64
		if c.Compat {
			flags |= C.CALL_COMPAT
		}
		if check[i] {
			flags |= C.CALL_CHECK
		}
		req = native.AppendUint64(req, uint64(uint32(c.Nr)))
		req = native.AppendUint64(req, flags)
		for _, a := range c.Args {
			req = native.AppendUint64(req, a)
		}
	}

	// The prober bounds every call by its own timeouts; this is a backstop.
	timeout := 30*time.Second + time.Duration(len(calls))*(C.PARENT_TIMEOUT_MS+1000)*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{exe + " (fencer kernel probe)"}
	cmd.Env = append(os.Environ(), C.PROBE_ENV+"="+C.PROBE_ENV_VALUE)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		err = fmt.Errorf("kernel probe: %s: %w: %s", exe, err, strings.TrimSpace(stderr.String()))
		if cmd.ProcessState == nil {
			err = envError{err} // could not start it
		}
		return nil, err
	}

	ans := stdout.Bytes()
	if len(ans) < 32 || native.Uint64(ans) != protoMagic {
		// Also what a probed write to fd 1 would cause, had it run.
		return nil, fmt.Errorf("kernel probe: %s did not answer as a prober (%d bytes, starting %q): %s",
			exe, len(ans), ans[:min(len(ans), 16)], strings.TrimSpace(stderr.String()))
	}
	if e := native.Uint64(ans[8:]); e != 0 {
		return nil, fmt.Errorf("kernel refused the program: %w", syscall.Errno(e))
	}
	ans = ans[32:]
	if len(ans) != 8*recWords*len(calls) {
		return nil, fmt.Errorf("kernel probe: %d bytes of records for %d calls", len(ans), len(calls))
	}
	recs := make([]record, len(calls))
	for i := range recs {
		var w [C.REC_WORDS]int64
		for j := range w {
			w[j] = int64(native.Uint64(ans[8*(recWords*i+j):]))
		}
		r := &recs[i]
		r.how, r.wstatus, r.pstate, r.pret = w[0], w[1], w[2], w[3]
		r.trapErrno, r.trapSyscall, r.trapArch = w[4], w[5], w[6]
		r.mstate, r.merr = w[7], w[8]
		r.nr, r.arch, r.ip = w[9], w[10], w[11]
		for j := range r.args {
			r.args[j] = uint64(w[12+j])
		}
	}
	return recs, nil
}

// verdict reads what happened to one call from its record.
func verdict(c Call, r record) (Verdict, error) {
	wantArch := int64(arch.AuditX86_64)
	if c.Compat {
		wantArch = arch.AuditI386
	}
	switch r.how {
	case C.HOW_SKIPPED:
		return Verdict{}, ErrNoCompat
	case C.HOW_OUTER_FILTER:
		// See serve in the C code.
		return Verdict{}, envError{errors.New("the seccomp filter this process already runs under decides this call: the probe cannot see the program's verdict")}
	case C.HOW_PARENT_TIMEOUT:
		return Verdict{}, fmt.Errorf("the probe process was still alive after %d ms", C.PARENT_TIMEOUT_MS)
	case C.HOW_UNFILTERED:
		return unfilteredVerdict, nil
	case C.HOW_CHECK_FAILED:
		err := fmt.Errorf("checking that the kernel filters the call: status %#x, state %d: %w",
			r.wstatus, r.pstate, syscall.Errno(-r.pret))
		if r.pstate == C.PS_NNP_FAILED {
			return Verdict{}, envError{err}
		}
		return Verdict{}, err
	}
	ws := syscall.WaitStatus(r.wstatus)
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		switch r.mstate {
		case C.MS_PASSED:
			// The shield caught the call: check that the kernel saw the
			// call we meant to make.
			if int32(r.nr) != c.Nr || r.arch&0xffffffff != wantArch || r.args != c.Args {
				return Verdict{}, fmt.Errorf("the kernel saw arch %#x nr %#x args %#x", uint32(r.arch), uint32(r.nr), r.args)
			}
			return Verdict{Action: policy.ActAllow, Passed: true}, nil
		case C.MS_THREAD_DIED:
			return Verdict{Action: policy.Action{Kind: policy.KillThread}}, nil
		case C.MS_TIMEOUT:
			return Verdict{}, fmt.Errorf("the call neither returned nor was killed within %d ms", C.CHILD_TIMEOUT_MS)
		case C.MS_SETUP_FAILED:
			return Verdict{}, fmt.Errorf("setting up the probe: %w", syscall.Errno(r.merr))
		}
	case ws.Signaled() && ws.Signal() == syscall.SIGILL:
		// The probe thread recorded an outcome and stopped itself.
		switch r.pstate {
		case C.PS_RETURNED:
			ret := r.pret
			if c.Compat {
				ret = int64(int32(ret))
			}
			if ret > 0 || ret < -policy.MaxErrno {
				return Verdict{}, fmt.Errorf("the call returned %d: it ran", ret)
			}
			return Verdict{Action: policy.Action{Kind: policy.Errno, Data: uint16(-ret)}}, nil
		case C.PS_TRAPPED:
			if int32(r.trapSyscall) != c.Nr || r.trapArch&0xffffffff != wantArch {
				return Verdict{}, fmt.Errorf("SIGSYS for arch %#x nr %#x", uint32(r.trapArch), uint32(r.trapSyscall))
			}
			return Verdict{Action: policy.Action{Kind: policy.Trap, Data: uint16(r.trapErrno)}}, nil
		case C.PS_NNP_FAILED:
			return Verdict{}, envError{fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", syscall.Errno(-r.pret))}
		case C.PS_SHIELD_FAILED:
			// Before 5.0 the kernel knows no SECCOMP_FILTER_FLAG_NEW_LISTENER.
			return Verdict{}, envError{fmt.Errorf("installing the shield filter: %w", syscall.Errno(-r.pret))}
		case C.PS_PROGRAM_FAILED:
			return Verdict{}, fmt.Errorf("installing the program over the shield: %w", syscall.Errno(-r.pret))
		}
	case ws.Signaled() && ws.Signal() == syscall.SIGSYS && r.pstate == C.PS_NONE:
		return Verdict{Action: policy.ActKillProcess}, nil
	}
	return Verdict{}, fmt.Errorf("unexpected end of the probe process: status %#x, probe thread %d, main thread %d",
		r.wstatus, r.pstate, r.mstate)
}
