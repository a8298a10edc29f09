package compile

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/bpf/optimize"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestOptimizeDifferential compiles random policies on every architecture
// and compares the optimized program with the program as assembled: the
// same return value (action and data) for inputs near every constant the
// policy compares with, never more instructions run, never a longer
// program, and every syscall the assembled program lets the kernel's
// action cache allow still cacheable.
func TestOptimizeDifferential(t *testing.T) {
	eachArch(t, 10, func(t *testing.T, a testArch, r *rand.Rand) {
		shrunk, cached, longest := 0, 0, 0
		for i := 0; i < 405; i++ {
			f := randFilter(r, a)
			if i >= 400 {
				// Programs of a few thousand instructions, whose
				// jumps meet the 255-instruction reach.
				f.Rules = nil
				for j := 0; j < 200+r.Intn(200); j++ {
					f.Rules = append(f.Rules, policy.Rule{Name: "big", Nr: uint32(r.Intn(400)), When: randExpr(r, a, 4), Action: randAction(r)})
				}
			}
			prog, st, err := Compile(f)
			var long *TooLongError
			if errors.As(err, &long) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			longest = max(longest, len(st.Unoptimized))
			if len(prog) > len(st.Unoptimized) || len(prog) != st.Insns {
				t.Fatalf("%d instructions, %d before optimization (stats %+v)", len(prog), len(st.Unoptimized), st)
			}
			if len(prog) < len(st.Unoptimized) {
				shrunk++
			}
			cached += checkOptimized(t, f, st.Unoptimized, prog, r)
		}
		if cached == 0 {
			t.Error("no syscall was cacheable: the test proves little")
		}
		if longest < 400 {
			t.Errorf("the longest program has %d instructions: the test proves little about reach", longest)
		}
		if shrunk == 0 {
			t.Error("the optimizer shortened no program: the test proves little")
		}
	})
}

// checkOptimized compares the assembled program before with the optimized
// one after on inputs drawn from f. It returns how many syscalls the
// kernel's action cache allows.
func checkOptimized(t *testing.T, f *policy.Filter, before, after bpf.Program, r *rand.Rand) int {
	t.Helper()
	vb, err := bpf.NewVM(before, f.Order)
	if err != nil {
		t.Fatal(err)
	}
	va, err := bpf.NewVM(after, f.Order)
	if err != nil {
		t.Fatalf("the kernel would refuse the optimized program: %v\n%s", err, bpf.Disassemble(after, f.Order, nil))
	}
	consts := filterConstants(f)
	for range 300 {
		d := randData(r, f, consts)
		data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, f.Order)
		rb, ra := vb.Run(data[:], bpf.Options{}), va.Run(data[:], bpf.Options{})
		if ra.Ret != rb.Ret || ra.Executed > rb.Executed {
			t.Fatalf("input nr=%d arch=%#x args=%#x: optimized returns %#x after %d, assembled %#x after %d\npolicy: %s\nbefore:\n%safter:\n%s",
				d.Nr, d.Arch, d.Args, ra.Ret, ra.Executed, rb.Ret, rb.Executed, describe(f),
				bpf.Disassemble(before, f.Order, nil), bpf.Disassemble(after, f.Order, nil))
		}
	}
	cached := 0
	for nr := uint32(0); nr < 520; nr++ {
		if !constAllow(before, nr, f.AuditArch) {
			continue
		}
		cached++
		if !constAllow(after, nr, f.AuditArch) {
			t.Fatalf("syscall %d: the kernel's action cache allowed it before optimization, not after\npolicy: %s\nafter:\n%s",
				nr, describe(f), bpf.Disassemble(after, f.Order, nil))
		}
	}
	return cached
}

// BenchmarkOptimizeLarge measures the optimizer on programs of a few
// thousand instructions, the size the kernel's limit allows.
func BenchmarkOptimizeLarge(b *testing.B) {
	a := testArches[0]
	r := rand.New(rand.NewSource(3))
	var progs []bpf.Program
	for len(progs) < 8 {
		f := randFilter(r, a)
		f.Rules = nil
		for j := 0; j < 400; j++ {
			f.Rules = append(f.Rules, policy.Rule{Name: "big", Nr: uint32(r.Intn(400)), When: randExpr(r, a, 4), Action: randAction(r)})
		}
		if _, st, err := Compile(f); err == nil {
			progs = append(progs, st.Unoptimized)
		}
	}
	b.ResetTimer()
	before, after := 0, 0
	for i := 0; i < b.N; i++ {
		p := progs[i%len(progs)]
		before += len(p)
		after += len(optimize.Program(p))
	}
	b.ReportMetric(float64(before)/float64(b.N), "insns-before/op")
	b.ReportMetric(float64(after)/float64(b.N), "insns-after/op")
}

// TestOptimizeHighWord checks the hoisting of a 64-bit argument's high
// word: `arg1 == 2 || arg1 == 5 || arg1 == 9` compiles to three
// comparisons, each loading and checking the high word; optimized, the
// program loads it once, on every 64-bit architecture.
func TestOptimizeHighWord(t *testing.T) {
	for _, a := range testArches {
		if a.bits != 64 {
			continue
		}
		t.Run(a.name, func(t *testing.T) {
			var or policy.Or
			for _, v := range []uint64{2, 5, 9} {
				or = append(or, policy.Cmp{Arg: 1, Mask: ^uint64(0), Op: policy.EQ, Value: v})
			}
			f := &policy.Filter{Service: "s", Arch: a.name, AuditArch: a.audit, Order: a.order, X32: a.x32,
				Default: policy.ActKillProcess,
				Rules:   []policy.Rule{{Name: "lseek", Nr: 8, When: or, Action: policy.ActAllow}}}
			prog, st, err := Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			high := bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.ArgHigh(1, a.order))
			count := func(p bpf.Program) (n int) {
				for _, in := range p {
					if in == high {
						n++
					}
				}
				return n
			}
			if count(st.Unoptimized) != 3 || count(prog) != 1 {
				t.Errorf("loads of arg1's high word: %d assembled, %d optimized, want 3 and 1\n%s",
					count(st.Unoptimized), count(prog), bpf.Disassemble(prog, a.order, nil))
			}
			checkOptimized(t, f, st.Unoptimized, prog, rand.New(rand.NewSource(1)))
		})
	}
}
