package policy

import (
	"encoding/binary"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

func TestActionRetRoundTrip(t *testing.T) {
	for _, a := range []Action{
		ActAllow, {Kind: Log}, {Kind: Errno, Data: 1}, {Kind: Errno, Data: MaxErrno},
		{Kind: Trap}, {Kind: Trap, Data: 0xffff}, {Kind: KillThread}, ActKillProcess, ActExecOnce,
	} {
		if got := ActionFromRet(a.Ret()); got != a {
			t.Errorf("%v: Ret %#x decodes as %v", a, a.Ret(), got)
		}
	}
	// The kernel treats unknown actions as kill_process and caps errno.
	if got := ActionFromRet(0x00010000); got != ActKillProcess {
		t.Errorf("unknown action decodes as %v", got)
	}
	if got := ActionFromRet(RetErrno | 5000); got != (Action{Kind: Errno, Data: MaxErrno}) {
		t.Errorf("errno 5000 decodes as %v", got)
	}
	// SECCOMP_RET_TRACE without a tracer fails the call with ENOSYS.
	if got := ActionFromRet(bpf.RetTrace | 3); got != (Action{Kind: Errno, Data: 38}) {
		t.Errorf("TRACE decodes as %v", got)
	}
	if got := ActionFromRet(RetUserNotif); got != ActExecOnce || got.String() != "exec_once" {
		t.Errorf("USER_NOTIF decodes as %v", got)
	}
}

// TestPrecedenceIsTheKernels checks that Precedence ranks every pair of
// actions as the kernel ranks their return values across filters.
func TestPrecedenceIsTheKernels(t *testing.T) {
	all := []Action{ActAllow, {Kind: Log}, ActExecOnce, {Kind: Errno, Data: 1}, {Kind: Trap}, {Kind: KillThread}, ActKillProcess}
	for _, a := range all {
		for _, b := range all {
			if got, want := a.Precedence() > b.Precedence(), bpf.RetStronger(a.Ret(), b.Ret()); got != want {
				t.Errorf("%v above %v: Precedence says %v, the kernel %v", a, b, got, want)
			}
		}
	}
}

func TestActionStringAndParse(t *testing.T) {
	for s, want := range map[string]Action{"allow": ActAllow, "log": {Kind: Log}, "trap": {Kind: Trap},
		"kill_thread": {Kind: KillThread}, "kill_process": ActKillProcess} {
		got, ok := ParseAction(s)
		if !ok || got != want || got.String() != s {
			t.Errorf("ParseAction(%q) = %v, %v", s, got, ok)
		}
	}
	if _, ok := ParseAction("errno"); ok {
		t.Errorf("bare errno parsed")
	}
	if _, ok := ParseAction("exec_once"); ok {
		t.Errorf("exec_once parsed: no rule can give it")
	}
	if s := (Action{Kind: Errno, Data: 1}).String(); s != "errno(1)" {
		t.Errorf("errno(1) prints as %q", s)
	}
}

func TestOpNegate(t *testing.T) {
	vals := []uint64{0, 1, 2, 1 << 63, ^uint64(0)}
	for op := EQ; op <= GE; op++ {
		for _, a := range vals {
			for _, b := range vals {
				if op.Apply(a, b) == op.Negate().Apply(a, b) {
					t.Fatalf("%v and its negation %v agree on %d, %d", op, op.Negate(), a, b)
				}
			}
		}
	}
}

func TestDecide(t *testing.T) {
	f := &Filter{
		Arch: "x86_64", AuditArch: 0xc000003e, Order: binary.LittleEndian, X32: true,
		Default: Action{Kind: Errno, Data: 1},
		Rules: []Rule{
			{Nr: 1, When: Cmp{Arg: 0, Mask: 0xffffffff, Op: EQ, Value: 2}, Action: ActAllow},
			{Nr: 1, When: Cmp{Arg: 0, Mask: 0xffffffff, Op: GE, Value: 2}, Action: Action{Kind: Errno, Data: 13}},
			{Nr: 1, When: Cmp{Arg: 0, Mask: 0xffffffff, Op: EQ, Value: 3}, Action: Action{Kind: Errno, Data: 7}},
			{Nr: 3, When: Const(true), Action: ActAllow},
			{Nr: 3, When: Not{Cmp{Arg: 1, Mask: ^uint64(0), Op: LT, Value: 1 << 32}}, Action: Action{Kind: Trap, Data: 9}},
		},
		ExecOnce: []uint32{59},
	}
	d := func(nr int32, arch uint32, args ...uint64) Data {
		x := Data{Nr: nr, Arch: arch}
		copy(x.Args[:], args)
		return x
	}
	for _, c := range []struct {
		in   Data
		want Action
	}{
		{d(1, 0xc000003e, 2), Action{Kind: Errno, Data: 13}},       // errno beats allow
		{d(1, 0xc000003e, 3), Action{Kind: Errno, Data: 13}},       // first declared errno
		{d(1, 0xc000003e, 1), Action{Kind: Errno, Data: 1}},        // no rule holds: default
		{d(1, 0xc000003e, 1<<32|2), Action{Kind: Errno, Data: 13}}, // high word ignored under a 32-bit mask
		{d(3, 0xc000003e, 0, 5), ActAllow},                         //
		{d(3, 0xc000003e, 0, 1<<32), Action{Kind: Trap, Data: 9}},  // trap beats allow
		{d(3, 0xc00000b7), ActKillProcess},                         // foreign arch
		{d(X32Bit|3, 0xc000003e), ActKillProcess},                  // x32
		{d(-1, 0xc000003e), ActKillProcess},                        // x32 range includes -1
		{d(42, 0xc000003e), Action{Kind: Errno, Data: 1}},          // no rules
		{d(59, 0xc000003e, 1, 2, 3), ActExecOnce},                  // the gate
		{d(3, 0xc000003e, 0, 1<<32), Action{Kind: Trap, Data: 9}},  // a gate elsewhere changes nothing
		{d(X32Bit|59, 0xc000003e), ActKillProcess},                 // x32 before the gate
		{d(59, 0x40000003), ActKillProcess},                        // foreign arch before the gate
	} {
		if got := f.Decide(c.in); got != c.want {
			t.Errorf("Decide(nr=%d arch=%#x args=%#x) = %v, want %v", c.in.Nr, c.in.Arch, c.in.Args, got, c.want)
		}
	}
}
