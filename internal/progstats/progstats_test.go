package progstats

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// linear is the program a naive compiler writes for f's rules: a jeq per
// syscall, nr 1 allowed, nr 2 allowed when arg0 (low word) is 5.
//
//	0 ld [4]; 1 jeq arch 2 else 9; 2 ld [0]; 3 jeq 1 -> 8; 4 jeq 2 -> 5 else 9
//	5 ld [16]; 6 jeq 5 -> 8 else 9; 7 (unused pad: ret kill); 8 ret allow; 9 ret kill
func linear(order binary.ByteOrder) bpf.Program {
	return bpf.Program{
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffArch),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, arch.AuditX86_64, 0, 7),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 1, 4, 0),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 2, 0, 4),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.ArgLow(0, order)),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 5, 1, 2),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess),
	}
}

func TestMeasure(t *testing.T) {
	f := &policy.Filter{
		Service: "s", Arch: "x86_64", AuditArch: arch.AuditX86_64, Order: binary.LittleEndian,
		Default: policy.ActKillProcess,
		Rules: []policy.Rule{
			{Name: "a", Syscall: "write", Nr: 1, When: policy.Const(true), Action: policy.ActAllow},
			{Name: "b", Syscall: "open", Nr: 2, When: policy.Cmp{Arg: 0, Op: policy.EQ, Mask: 0xffffffff, Value: 5}, Action: policy.ActAllow},
		},
	}
	fig, err := Measure(linear(binary.LittleEndian), f)
	if err != nil {
		t.Fatal(err)
	}
	dense, extra := Numbers(f)
	if want := 335; dense < want || len(fig.PerNr) != dense {
		t.Fatalf("dense range %d (PerNr %d), want x86_64's table, at least %d numbers", dense, len(fig.PerNr), want)
	}
	if len(extra) != 0 {
		t.Errorf("extra numbers on x86_64: %v", extra)
	}
	// nr 1: ld, jeq, ld, jeq, ret = 5. nr 2 allowed: ld, jeq, ld, jeq,
	// jeq, ld, jeq, ret = 8; denied the same 8. Every other number: 6.
	if fig.PerNr[1] != 5 || fig.PerNr[0] != 6 || fig.PerNr[3] != 6 || fig.PerNr[2] != 8 {
		t.Errorf("PerNr[0..3] = %v, want [6 5 8 6]", fig.PerNr[:4])
	}
	if fig.MaxExecuted != 8 || fig.Insns != 10 {
		t.Errorf("max executed %d, insns %d; want 8 and 10", fig.MaxExecuted, fig.Insns)
	}
	if want := (5.0 + 8.0) / 2; fig.MeanAllowed != want {
		t.Errorf("mean on allowed calls %v, want %v", fig.MeanAllowed, want)
	}
	want := (6*float64(dense-2) + 5 + 8) / float64(dense)
	if math.Abs(fig.MeanExecuted-want) > 1e-9 {
		t.Errorf("mean executed %v, want %v", fig.MeanExecuted, want)
	}
}

// TestInputsSatisfyConjunctions: a rule needing four arguments at once
// gets inputs for which it holds, so the allowed figure measures it.
func TestInputsSatisfyConjunctions(t *testing.T) {
	eq := func(arg int, v uint64) policy.Expr {
		return policy.Cmp{Arg: arg, Op: policy.EQ, Mask: ^uint64(0), Value: v}
	}
	r := policy.Rule{Nr: 288, When: policy.And{eq(0, 3), eq(1, 0), eq(2, 0), eq(3, 0x80800)}, Action: policy.ActAllow}
	held := 0
	for _, args := range Inputs(288, []policy.Rule{r}) {
		if policy.Eval(r.When, &args) {
			held++
		}
	}
	if held == 0 {
		t.Fatal("no input satisfies the rule")
	}
	a := Inputs(288, []policy.Rule{r})
	b := Inputs(288, []policy.Rule{r})
	if len(a) != len(b) {
		t.Fatalf("inputs differ between calls: %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("input %d differs between calls", i)
		}
	}
}

// TestNumbersArm: arm's private syscalls above the dense range are
// measured too, without a dense range up to them.
func TestNumbersArm(t *testing.T) {
	a, _ := arch.Lookup("arm")
	f := &policy.Filter{Arch: "arm", AuditArch: a.Audit, Order: a.Order}
	dense, extra := Numbers(f)
	if dense > denseLimit || len(extra) == 0 {
		t.Errorf("arm: dense %d, extra %v; want a dense range below %d and the private numbers above", dense, extra, denseLimit)
	}
}
