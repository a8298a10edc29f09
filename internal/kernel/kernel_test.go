package kernel_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/kernel"
	"github.com/fencer-dev/fencer/internal/policy"
)

// x86_64 and i386 syscall numbers the tests use.
const (
	nrWrite     = 1
	nrPause     = 34
	nrGetpid    = 39
	nrExit      = 60
	nrKill      = 62
	nrGetuid    = 102
	nrGetgid    = 104
	nrGetppid   = 110
	nrGettid    = 186
	nrExitGroup = 231
	nrTgkill    = 234
	nrMkdirat   = 258
	nrUnlinkat  = 263
	nrSeccomp   = 317

	x32 = 0x40000000

	i386Exit     = 1
	i386Getpid   = 20
	i386Gettid   = 224
	i386Getuid32 = 199
)

// requireProbes skips the test where kernel probes cannot run, and fails it
// instead when CI=true: CI must run them. Broken probes always fail.
func requireProbes(t testing.TB) {
	t.Helper()
	if err := kernel.Supported(); err != nil {
		if !errors.Is(err, kernel.ErrUnsupported) {
			t.Fatalf("kernel probes are broken: %v", err)
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("kernel probes must run in CI: %v", err)
		}
		t.Skipf("kernel probes cannot run here: %v", err)
	}
}

// asm builds a program with symbolic jump targets.
type asm struct {
	prog   bpf.Program
	labels map[string]int
	jumps  []jump
}

type jump struct {
	at     int
	jt, jf string
}

func (a *asm) ld(off uint32) {
	a.prog = append(a.prog, bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, off))
}

func (a *asm) ret(k uint32) { a.prog = append(a.prog, bpf.Stmt(bpf.ClassRET|bpf.RetK, k)) }

func (a *asm) retA() { a.prog = append(a.prog, bpf.Stmt(bpf.ClassRET|bpf.RetA, 0)) }

// jeq jumps to jt if A == k, else to jf; "" is the next instruction.
func (a *asm) jeq(k uint32, jt, jf string) {
	a.jumps = append(a.jumps, jump{len(a.prog), jt, jf})
	a.prog = append(a.prog, bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, k, 0, 0))
}

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.prog)
}

func (a *asm) build(t testing.TB) bpf.Program {
	t.Helper()
	off := func(from int, to string) uint8 {
		if to == "" {
			return 0
		}
		at, ok := a.labels[to]
		if !ok || at <= from || at-from-1 > 255 {
			t.Fatalf("bad jump from %d to %q", from, to)
		}
		return uint8(at - from - 1)
	}
	for _, j := range a.jumps {
		a.prog[j.at].Jt = off(j.at, j.jt)
		a.prog[j.at].Jf = off(j.at, j.jf)
	}
	return a.prog
}

var (
	passed      = kernel.Verdict{Action: policy.ActAllow, Passed: true}
	killThread  = kernel.Verdict{Action: policy.Action{Kind: policy.KillThread}}
	killProcess = kernel.Verdict{Action: policy.ActKillProcess}
)

func errno(n uint16) kernel.Verdict {
	return kernel.Verdict{Action: policy.Action{Kind: policy.Errno, Data: n}}
}

func trap(n uint16) kernel.Verdict {
	return kernel.Verdict{Action: policy.Action{Kind: policy.Trap, Data: n}}
}

// testProgram returns every action for some x86_64, x32 and i386 calls.
func testProgram(t testing.TB) bpf.Program {
	var a asm
	a.ld(bpf.OffArch)
	a.jeq(arch.AuditX86_64, "", "i386")
	a.ld(bpf.OffNr)
	a.jeq(nrGetpid, "allow", "")
	a.jeq(nrWrite, "write", "")
	a.jeq(nrGetppid, "trap5", "")
	a.jeq(nrGetuid, "kill_thread", "")
	a.jeq(nrGettid, "kill_process", "")
	a.jeq(x32|nrGetpid, "errno77", "")
	a.jeq(nrGetgid, "log", "")
	for _, nr := range []uint32{nrKill, nrTgkill, nrExit, nrExitGroup, nrMkdirat, nrUnlinkat, nrPause, nrSeccomp} {
		a.jeq(nr, "allow", "")
	}
	a.ret(policy.RetErrno | 1)
	a.label("write")
	a.ld(bpf.ArgLow(0, arch.X86_64.Order))
	a.jeq(7, "errno13", "allow")

	a.label("i386")
	a.jeq(arch.AuditI386, "", "kill_process")
	a.ld(bpf.OffNr)
	a.jeq(i386Getpid, "allow", "")
	a.jeq(i386Exit, "allow", "")
	a.jeq(i386Gettid, "trap9", "")
	a.jeq(i386Getuid32, "", "errno21")
	// The high word of an i386 argument: only a 64-bit process can set it.
	a.ld(bpf.ArgHigh(0, arch.I386.Order))
	a.jeq(1, "errno40", "errno41")
	a.label("errno21")
	a.ret(policy.RetErrno | 21)
	a.label("errno40")
	a.ret(policy.RetErrno | 40)
	a.label("errno41")
	a.ret(policy.RetErrno | 41)

	a.label("allow")
	a.ret(policy.RetAllow)
	a.label("log")
	a.ret(policy.RetLog)
	a.label("errno13")
	a.ret(policy.RetErrno | 13)
	a.label("errno77")
	a.ret(policy.RetErrno | 77)
	a.label("trap5")
	a.ret(policy.RetTrap | 5)
	a.label("trap9")
	a.ret(policy.RetTrap | 9)
	a.label("kill_thread")
	a.ret(policy.RetKillThread)
	a.label("kill_process")
	a.ret(policy.RetKillProcess)
	return a.build(t)
}

type probeCase struct {
	name string
	call kernel.Call
	want kernel.Verdict
}

func checkProbes(t *testing.T, p bpf.Program, cases []probeCase) {
	t.Helper()
	calls := make([]kernel.Call, len(cases))
	for i, c := range cases {
		calls[i] = c.call
	}
	got, err := kernel.Probe(p, calls)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s: %v: got %+v, want %+v", c.name, c.call, got[i], c.want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	requireProbes(t)
	checkProbes(t, testProgram(t), []probeCase{
		{"getpid allowed", kernel.Call{Nr: nrGetpid}, passed},
		{"getgid logged", kernel.Call{Nr: nrGetgid}, passed},
		{"write fd 7", kernel.Call{Nr: nrWrite, Args: [6]uint64{7, 0, 0}}, errno(13)},
		{"write fd 7, high word set", kernel.Call{Nr: nrWrite, Args: [6]uint64{1<<32 | 7}}, errno(13)},
		{"write fd 8", kernel.Call{Nr: nrWrite, Args: [6]uint64{8}}, passed},
		{"getppid trapped", kernel.Call{Nr: nrGetppid}, trap(5)},
		{"getuid kills the thread", kernel.Call{Nr: nrGetuid}, killThread},
		{"gettid kills the process", kernel.Call{Nr: nrGettid}, killProcess},
		{"x32 getpid", kernel.Call{Nr: x32 | nrGetpid}, errno(77)},
		{"x32 getppid", kernel.Call{Nr: x32 | nrGetppid}, errno(1)},
		{"unknown number", kernel.Call{Nr: 999}, errno(1)},
		{"nr -1", kernel.Call{Nr: -1}, errno(1)},
		{"seccomp itself", kernel.Call{Nr: nrSeccomp, Args: [6]uint64{1, 0, 0x1000}}, passed},
		{"exit_group", kernel.Call{Nr: nrExitGroup}, passed},
		{"exit", kernel.Call{Nr: nrExit, Args: [6]uint64{3}}, passed},
		{"pause does not block", kernel.Call{Nr: nrPause}, passed},
		{"all args seen", kernel.Call{Nr: nrGetpid, Args: [6]uint64{1, 1 << 63, 3, 4, 5, ^uint64(0)}}, passed},
	})
}

func TestCompat(t *testing.T) {
	requireProbes(t)
	cases := []probeCase{
		{"i386 getpid", kernel.Call{Nr: i386Getpid, Compat: true}, passed},
		{"i386 exit", kernel.Call{Nr: i386Exit, Compat: true}, passed},
		{"i386 gettid", kernel.Call{Nr: i386Gettid, Compat: true}, trap(9)},
		{"i386 getuid32", kernel.Call{Nr: i386Getuid32, Compat: true, Args: [6]uint64{5}}, errno(41)},
		{"i386 getuid32, high word", kernel.Call{Nr: i386Getuid32, Compat: true, Args: [6]uint64{1<<32 | 5}}, errno(40)},
		{"i386 other", kernel.Call{Nr: nrGetpid, Compat: true}, errno(21)},
		{"i386 args", kernel.Call{Nr: i386Getpid, Compat: true, Args: [6]uint64{1, 2, 3, 4, 5, 1<<40 | 6}}, passed},
	}
	calls := []kernel.Call{cases[0].call}
	if _, err := kernel.Probe(testProgram(t), calls); errors.Is(err, kernel.ErrNoCompat) {
		// Verified to work on the development machine: CI must have it.
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	checkProbes(t, testProgram(t), cases)
}

// TestReturnValues has the program return its first argument, so that
// every return value, known or not, can be tried.
func TestReturnValues(t *testing.T) {
	requireProbes(t)
	var a asm
	a.ld(bpf.ArgLow(0, arch.X86_64.Order))
	a.retA()
	p := a.build(t)
	var cases []probeCase
	add := func(ret uint32, want kernel.Verdict) {
		cases = append(cases, probeCase{fmt.Sprintf("ret %#x", ret), kernel.Call{Nr: nrGetpid, Args: [6]uint64{uint64(ret)}}, want})
	}
	add(policy.RetAllow, passed)
	add(policy.RetAllow|0x1234, passed)
	add(policy.RetLog, passed)
	add(policy.RetErrno, errno(0))
	add(policy.RetErrno|1, errno(1))
	add(policy.RetErrno|38, errno(38))
	add(policy.RetErrno|4095, errno(4095))
	add(policy.RetErrno|4096, errno(4095)) // the kernel caps the errno
	add(policy.RetErrno|0xffff, errno(4095))
	add(policy.RetTrap, trap(0))
	add(policy.RetTrap|0xffff, trap(0xffff))
	add(policy.RetKillThread, killThread)
	add(policy.RetKillThread|5, killThread)
	add(policy.RetKillProcess, killProcess)
	add(policy.RetKillProcess|5, killProcess)
	add(0x00010000, killProcess) // unknown actions ranking above USER_NOTIF
	add(0x00060000, killProcess)
	add(0x7fb00000, killProcess)
	add(0xffff0000, killProcess)
	add(0x7fc00000, errno(38)) // USER_NOTIF without a listener
	checkProbes(t, p, cases)

	// The interpreter's decoding agrees wherever it models the action.
	for _, c := range cases {
		ret := uint32(c.call.Args[0])
		act := policy.ActionFromRet(ret)
		if act.Kind == policy.Log {
			act = policy.ActAllow
		}
		if act.Kind == policy.ExecOnce {
			// USER_NOTIF, fencer's exec-once gate: without its listener
			// (gone once the loader has exec'd) the call fails with ENOSYS.
			act = policy.Action{Kind: policy.Errno, Data: 38}
		}
		if act != c.want.Action {
			t.Errorf("ret %#x: ActionFromRet says %v, the kernel %v", ret, act, c.want.Action)
		}
	}
}

func TestRefusesHiddenActions(t *testing.T) {
	requireProbes(t)
	for _, ret := range []uint32{0x7ff00000 /* TRACE */, 0x7ff00005, 0x7fd00000, 0x7ffd0000, 0x7ffe0000} {
		var a asm
		a.ret(ret)
		if _, err := kernel.Probe(a.build(t), []kernel.Call{{Nr: nrGetpid}}); err == nil {
			t.Errorf("ret %#x: Probe did not refuse a return it cannot observe", ret)
		}
	}
	for _, ret := range []uint32{policy.RetAllow, policy.RetLog, 0x7fc00000} {
		var a asm
		a.ret(ret)
		if _, err := kernel.Probe(a.build(t), []kernel.Call{{Nr: nrGetpid}}); err != nil {
			t.Errorf("ret %#x: %v", ret, err)
		}
	}
}

func TestLoad(t *testing.T) {
	requireProbes(t)
	if err := kernel.Load(testProgram(t)); err != nil {
		t.Errorf("valid program: %v", err)
	}
	long := make(bpf.Program, bpf.MaxInsns)
	for i := range long {
		long[i] = bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow)
	}
	if err := kernel.Load(long); err != nil {
		t.Errorf("%d instructions: %v", len(long), err)
	}
	ret := bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow)
	for _, c := range []struct {
		name string
		p    bpf.Program
	}{
		{"empty", bpf.Program{}},
		{"too long", append(long, ret)},
		{"no final return", bpf.Program{ret, bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 0)}},
		{"jump out of range", bpf.Program{bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 0, 5, 0), ret}},
		{"misaligned load", bpf.Program{bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 2), ret}},
		{"load past seccomp_data", bpf.Program{bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.DataSize), ret}},
		{"byte load", bpf.Program{bpf.Stmt(bpf.ClassLD|bpf.SizeB|bpf.ModeABS, 0), ret}},
		{"indirect load", bpf.Program{bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeIND, 0), ret}},
		{"division by constant zero", bpf.Program{bpf.Stmt(bpf.ClassALU|bpf.AluDIV|bpf.SrcK, 0), ret}},
	} {
		err := kernel.Load(c.p)
		if !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s: got %v, want EINVAL", c.name, err)
		}
		if _, err := kernel.Probe(c.p, []kernel.Call{{Nr: nrGetpid}}); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s: Probe: got %v, want EINVAL", c.name, err)
		}
	}
}

// BenchmarkProbe measures the cost of one probed call, for each outcome.
func BenchmarkProbe(b *testing.B) {
	requireProbes(b)
	p := testProgram(b)
	for _, c := range []struct {
		name string
		call kernel.Call
	}{
		{"passed", kernel.Call{Nr: nrGetpid}},
		{"errno", kernel.Call{Nr: 999}},
		{"trap", kernel.Call{Nr: nrGetppid}},
		{"kill_thread", kernel.Call{Nr: nrGetuid}},
		{"kill_process", kernel.Call{Nr: nrGettid}},
	} {
		b.Run(c.name, func(b *testing.B) {
			const batch = 200
			calls := make([]kernel.Call, batch)
			for i := range calls {
				calls[i] = c.call
			}
			for b.Loop() {
				if _, err := kernel.Probe(p, calls); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/probe")
		})
	}
}
