package compile

import (
	"math/rand"
	"runtime"
	"sort"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	refarch "github.com/elastic/go-seccomp-bpf/arch"
	xbpf "golang.org/x/net/bpf"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestReferenceAllowLists compiles random unconditional allow-lists with
// fencer and with go-seccomp-bpf, the reference compiler for policies
// without argument conditions, and requires the same verdict for every
// syscall number of the native architecture. (go-seccomp-bpf compiles
// only for the architecture it runs on, and answers x32 and foreign
// architectures differently by design, so those inputs are left to
// TestDifferential.)
func TestReferenceAllowLists(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the reference comparison is written for x86_64")
	}
	a := arch.X86_64
	// Names both compilers know.
	var names []string
	for _, n := range a.SyscallNames() {
		if _, ok := refarch.X86_64.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	r := rand.New(rand.NewSource(3))
	toRef := map[policy.ActionKind]seccomp.Action{
		policy.Allow: seccomp.ActionAllow, policy.Log: seccomp.ActionLog, policy.Errno: seccomp.ActionErrno,
		policy.Trap: seccomp.ActionTrap, policy.KillThread: seccomp.ActionKillThread, policy.KillProcess: seccomp.ActionKillProcess,
	}
	// The actions both compilers have (go-seccomp-bpf has no exec-once
	// gate), the denying ones first: those a default may have.
	kinds := []policy.ActionKind{policy.Errno, policy.Trap, policy.KillThread, policy.KillProcess, policy.Allow, policy.Log}
	for iter := 0; iter < 50; iter++ {
		f := &policy.Filter{Service: "ref", Arch: a.Name, AuditArch: a.Audit, Order: a.Order, X32: true,
			Default: withRefData(policy.Action{Kind: kinds[r.Intn(4)]})}
		ref := seccomp.Policy{DefaultAction: toRef[f.Default.Kind]}
		used := map[string]bool{}
		for g := 0; g < 1+r.Intn(4); g++ {
			// go-seccomp-bpf's errno is always EPERM, its trap carries no data.
			act := withRefData(policy.Action{Kind: kinds[r.Intn(len(kinds))]})
			group := seccomp.SyscallGroup{Action: toRef[act.Kind]}
			for k := 0; k < 1+r.Intn(60); k++ {
				name := names[r.Intn(len(names))]
				nr, _ := a.Syscall(name)
				canon, _ := a.SyscallName(nr)
				if used[canon] {
					continue
				}
				used[canon] = true
				group.Names = append(group.Names, canon)
				f.Rules = append(f.Rules, policy.Rule{Name: "g", Syscall: canon, Nr: uint32(nr), When: policy.Const(true), Action: act})
			}
			ref.Syscalls = append(ref.Syscalls, group)
		}
		insns, err := ref.Assemble()
		if err != nil {
			t.Fatalf("reference compiler: %v", err)
		}
		raw, err := xbpf.Assemble(insns)
		if err != nil {
			t.Fatal(err)
		}
		refProg := make(bpf.Program, len(raw))
		for i, in := range raw {
			refProg[i] = bpf.Insn{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		prog, _, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := bpf.NewVM(prog, a.Order)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := bpf.NewVM(refProg, a.Order)
		if err != nil {
			t.Fatalf("reference program invalid: %v", err)
		}
		for nr := int32(0); nr < 600; nr++ {
			d := bpf.MakeData(nr, a.Audit, 0, [6]uint64{r.Uint64(), r.Uint64()}, a.Order)
			got, want := ours.Run(d[:], bpf.Options{}).Ret, theirs.Run(d[:], bpf.Options{}).Ret
			if got != want {
				t.Fatalf("nr %d: fencer returns %s, go-seccomp-bpf %s", nr, bpf.DescribeRet(got), bpf.DescribeRet(want))
			}
		}
	}
}

// withRefData gives an action the data go-seccomp-bpf attaches to it.
func withRefData(a policy.Action) policy.Action {
	if a.Kind == policy.Errno {
		a.Data = 1 // EPERM
	}
	return a
}
