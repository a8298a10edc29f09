package compile

import (
	"errors"
	"math/rand"
	"os"
	"runtime"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/kernel"
	"github.com/fencer-dev/fencer/internal/policy"
)

// needKernel skips a test that needs kernel probes where they cannot run,
// except in CI, where that is a failure.
func needKernel(t *testing.T) {
	t.Helper()
	err := kernel.Supported()
	if err == nil {
		return
	}
	if !errors.Is(err, kernel.ErrUnsupported) || os.Getenv("CI") == "true" {
		t.Fatalf("kernel probes cannot run: %v", err)
	}
	t.Skipf("kernel probes cannot run here: %v", err)
}

// kernelView is the interpreter's verdict as the kernel probe can observe
// it: allow and log both pass, and exec_once (SECCOMP_RET_USER_NOTIF) has
// no listener in a probe, as in a service after the loader's exec: the
// kernel fails the call with ENOSYS.
func kernelView(a policy.Action) policy.Action {
	switch a.Kind {
	case policy.Log:
		return policy.ActAllow
	case policy.ExecOnce:
		return policy.Action{Kind: policy.Errno, Data: 38}
	}
	return a
}

// TestKernelAgrees loads random compiled programs for the running
// architecture into the kernel and requires, for inputs derived from their
// rules, the kernel's verdict to equal the interpreter's, without any
// probed syscall taking effect. Inputs include the x32 range and, through
// the i386 entry (int $0x80), a foreign architecture.
func TestKernelAgrees(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the kernel comparison runs on x86_64 hosts")
	}
	needKernel(t)
	a := testArches[0] // x86_64
	r := rand.New(rand.NewSource(11))
	policies, probes, unfiltered, gated := 0, 0, 0, 0
	seen := map[policy.ActionKind]int{}
	for policies < 60 {
		f := randFilter(r, a)
		prog, _, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := kernel.Load(prog); err != nil {
			t.Fatalf("the kernel refuses a compiled program: %v\n%s", err, describe(f))
		}
		vm, err := bpf.NewVM(prog, a.order)
		if err != nil {
			t.Fatal(err)
		}
		consts := filterConstants(f)
		var calls []kernel.Call
		var want []policy.Action
		for i := 0; i < 40; i++ {
			d := randData(r, f, consts)
			call := kernel.Call{Nr: d.Nr, Args: d.Args}
			if d.Arch != a.audit {
				// The kernel decides the arch: the only foreign one a
				// process here can enter is i386.
				call.Compat = true
				d.Arch = 0x40000003
			}
			data := bpf.MakeData(d.Nr, d.Arch, 0, d.Args, a.order)
			calls = append(calls, call)
			act := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
			if act.Kind == policy.ExecOnce {
				gated++
			}
			want = append(want, kernelView(act))
		}
		got, err := kernel.Probe(prog, calls)
		if errors.Is(err, kernel.ErrNoCompat) && os.Getenv("CI") != "true" {
			t.Skipf("no i386 entry on this kernel: %v", err)
		}
		if err != nil {
			t.Fatalf("probe: %v\npolicy: %s\nwant %v", err, describe(f), want)
		}
		for i, v := range got {
			if v.Unfiltered {
				// uretprobe and uprobe: the kernel runs no filter for them.
				unfiltered++
				continue
			}
			if v.Action != want[i] {
				c := calls[i]
				t.Fatalf("nr=%#x compat=%v args=%#x: kernel says %v, interpreter %v\npolicy: %s\n%s",
					c.Nr, c.Compat, c.Args, v.Action, want[i], describe(f), bpf.Disassemble(prog, a.order, nil))
			}
			seen[v.Action.Kind]++
		}
		policies++
		probes += len(calls)
	}
	for _, k := range []policy.ActionKind{policy.Allow, policy.Errno, policy.Trap, policy.KillThread, policy.KillProcess} {
		if seen[k] == 0 {
			t.Errorf("no probe observed %v: the sample proves little", policy.Action{Kind: k})
		}
	}
	if gated == 0 {
		t.Errorf("no probe met an exec-once gate: the sample proves nothing about SECCOMP_RET_USER_NOTIF")
	}
	t.Logf("%d policies, %d probes (%d of syscalls the kernel never filters, %d behind an exec-once gate): %v", policies, probes, unfiltered, gated, seen)
}

// TestKernelExecOnceSiblings loads a program with the exec-once gate into
// the kernel and probes execve and the other ways to it: without the
// loader's listener (as in the service once it runs) the kernel fails
// execve with ENOSYS, and the others get what the policy says before any
// gate: execveat its default action, x32 numbers and the i386 entry point
// (int $0x80, execve and execveat) the kill that comes before every rule.
func TestKernelExecOnceSiblings(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the kernel comparison runs on x86_64 hosts")
	}
	needKernel(t)
	a := testArches[0]
	const (
		execve, execveat         = 59, 322
		x32Execve, x32Execveat   = 0x40000000 | 520, 0x40000000 | 545
		i386Execve, i386Execveat = 11, 358
	)
	f := &policy.Filter{Service: "gate", Arch: a.name, AuditArch: a.audit, Order: a.order, X32: true,
		Default: policy.Action{Kind: policy.Errno, Data: 1}, ExecOnce: []uint32{execve},
		Rules: []policy.Rule{{Name: "w", Nr: 1, When: policy.Const(true), Action: policy.ActAllow}}}
	prog, _, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	path := [6]uint64{0x7ffd0000, 0x7ffd1000, 0x7ffd2000}
	enosys := policy.Action{Kind: policy.Errno, Data: 38}
	cases := []struct {
		name string
		call kernel.Call
		want policy.Action
	}{
		{"execve", kernel.Call{Nr: execve, Args: path}, enosys},
		{"execveat", kernel.Call{Nr: execveat, Args: [6]uint64{3, 0x7ffd0000, 0, 0, 0x1000}}, f.Default},
		{"x32 execve", kernel.Call{Nr: x32Execve, Args: path}, policy.ActKillProcess},
		{"x32 numbering of the native execve", kernel.Call{Nr: 0x40000000 | execve, Args: path}, policy.ActKillProcess},
		{"x32 execveat", kernel.Call{Nr: x32Execveat}, policy.ActKillProcess},
		{"i386 execve", kernel.Call{Nr: i386Execve, Compat: true, Args: path}, policy.ActKillProcess},
		{"i386 execveat", kernel.Call{Nr: i386Execveat, Compat: true}, policy.ActKillProcess},
	}
	calls := make([]kernel.Call, len(cases))
	for i, c := range cases {
		calls[i] = c.call
	}
	got, err := kernel.Probe(prog, calls)
	if errors.Is(err, kernel.ErrNoCompat) && os.Getenv("CI") != "true" {
		t.Skipf("no i386 entry on this kernel: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i].Action != c.want || got[i].Passed {
			t.Errorf("%s: the kernel says %v (passed %v), want %v", c.name, got[i].Action, got[i].Passed, c.want)
		}
		// The interpreter and the policy agree on what the filter returns.
		d := policy.Data{Nr: c.call.Nr, Arch: a.audit, Args: c.call.Args}
		if c.call.Compat {
			d.Arch = 0x40000003
		}
		if v := kernelView(f.Decide(d)); v != c.want {
			t.Errorf("%s: the policy says %v, the kernel %v", c.name, v, c.want)
		}
	}
}
