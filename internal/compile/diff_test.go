package compile

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/fuzzrand"
	"github.com/fencer-dev/fencer/internal/policy"
)

var casesPerArch = flag.Int("diff.cases", 120_000, "inputs per architecture in TestDifferential")

// check compiles f and compares, for every input, the verdict of the
// program in the interpreter with the policy's own meaning.
func check(t testing.TB, f *policy.Filter, inputs []policy.Data) {
	t.Helper()
	prog, _, err := Compile(f)
	if err != nil {
		t.Fatalf("compile: %v\npolicy: %s", err, describe(f))
	}
	checkProgram(t, prog, f, inputs, "compiled")
}

func describe(f *policy.Filter) string {
	s := fmt.Sprintf("%s default=%v", f.Arch, f.Default)
	if len(f.ExecOnce) > 0 {
		s += fmt.Sprintf(" exec_once=%v", f.ExecOnce)
	}
	for _, r := range f.Rules {
		s += fmt.Sprintf("\n  nr %d -> %v when %v", r.Nr, r.Action, r.When)
	}
	return s
}

// TestDifferential runs random policies on inputs derived from their rules
// on every architecture, and requires the compiled program and the
// policy's meaning to agree on every input.
func TestDifferential(t *testing.T) {
	eachArch(t, 0, func(t *testing.T, a testArch, r *rand.Rand) {
		n := 0
		verdicts := map[policy.ActionKind]int{}
		for n < *casesPerArch {
			f := randFilter(r, a)
			consts := filterConstants(f)
			inputs := make([]policy.Data, 200)
			for i := range inputs {
				inputs[i] = randData(r, f, consts)
				verdicts[f.Decide(inputs[i]).Kind]++
			}
			check(t, f, inputs)
			n += len(inputs)
		}
		// The inputs must exercise every verdict, or the comparison
		// proves little.
		for k := policy.Allow; k <= policy.KillProcess; k++ {
			if verdicts[k] < n/100 {
				t.Errorf("only %d of %d inputs got %v", verdicts[k], n, policy.Action{Kind: k})
			}
		}
		t.Logf("%d inputs: %v", n, verdicts)
	})
}

// FuzzCompile draws a policy and inputs from the fuzzer's bytes and
// requires program and policy to agree on every architecture.
func FuzzCompile(f *testing.F) {
	seed := rand.New(rand.NewSource(7))
	for i := 0; i < 8; i++ {
		b := make([]byte, 64+seed.Intn(512))
		seed.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		a := testArches[int(b[0])%len(testArches)]
		r := rand.New(fuzzrand.New(b[1:]))
		fl := randFilter(r, a)
		consts := filterConstants(fl)
		inputs := make([]policy.Data, 64)
		for i := range inputs {
			inputs[i] = randData(r, fl, consts)
		}
		check(t, fl, inputs)
	})
}

// TestDifferentialLarge checks programs long enough that the dispatch and
// the conditions jump beyond the 255 instructions a conditional jump
// reaches, so the builder's trampolines are exercised on every
// architecture.
func TestDifferentialLarge(t *testing.T) {
	eachArch(t, 1, func(t *testing.T, a testArch, r *rand.Rand) {
		longest, far := 0, 0
		for i := 0; i < 12; i++ {
			f := randFilter(r, a)
			f.Rules = nil
			for j := 0; j < 150+r.Intn(150); j++ {
				f.Rules = append(f.Rules, policy.Rule{
					Name:   "big",
					Nr:     uint32(r.Intn(400)),
					When:   randExpr(r, a, 4),
					Action: randAction(r),
				})
			}
			prog, st, err := Compile(f)
			if err != nil {
				var long *TooLongError
				if errors.As(err, &long) {
					continue
				}
				t.Fatal(err)
			}
			longest = max(longest, len(prog))
			// The builder's trampolines, which the optimizer may
			// shorten out of the program.
			far += farJumps(st.Unoptimized)
			consts := filterConstants(f)
			inputs := make([]policy.Data, 3000)
			for k := range inputs {
				inputs[k] = randData(r, f, consts)
			}
			check(t, f, inputs)
		}
		if far == 0 {
			t.Errorf("no jump reached beyond 255 instructions (longest program %d): the test proves nothing about long jumps", longest)
		}
		t.Logf("longest program %d instructions, %d far jumps", longest, far)
	})
}

// TestTooLong checks that a program over the kernel's limit is refused
// with an error naming the service and architecture, and the rules that
// take the most instructions, with their syscalls and counts: a rule with
// thousands of alternatives on one syscall, one with hundreds on two, and
// a small one that is not named.
func TestTooLong(t *testing.T) {
	a := testArches[0]
	f := &policy.Filter{Service: "big", Arch: a.name, AuditArch: a.audit, Order: a.order, Default: policy.ActKillProcess}
	alternatives := func(n, arg int) policy.Or {
		var or policy.Or
		for v := 0; v < n; v++ {
			or = append(or, policy.Cmp{Arg: arg, Mask: 0xffffffff, Op: policy.EQ, Value: uint64(v * 3)})
		}
		return or
	}
	f.Rules = []policy.Rule{
		{Name: "small", Syscall: "close", Nr: 3, When: alternatives(5, 0), Action: policy.ActAllow},
		{Name: "many", Syscall: "read", Nr: 0, When: alternatives(3900, 0), Action: policy.ActAllow},
		{Name: "pair", Syscall: "write", Nr: 1, When: alternatives(150, 1), Action: policy.ActAllow},
		{Name: "pair", Syscall: "pwrite64", Nr: 18, When: alternatives(150, 1), Action: policy.ActAllow},
		{Name: "deny", Syscall: "read", Nr: 0, When: alternatives(100, 2), Action: policy.Action{Kind: policy.Errno, Data: 1}},
	}
	_, st, err := Compile(f)
	var long *TooLongError
	if !errors.As(err, &long) {
		t.Fatalf("compiled %d instructions without error (%v)", st.Insns, err)
	}
	if long.Insns <= bpf.MaxInsns || !strings.Contains(err.Error(), `service "big" on x86_64`) {
		t.Errorf("error: %v", err)
	}
	want := []struct {
		rule     string
		syscalls []string
		min, max int
	}{{"many", []string{"read"}, 3900, 3902}, {"pair", []string{"pwrite64", "write"}, 300, 304}, {"deny", []string{"read"}, 100, 102}}
	if len(long.Largest) != len(want) {
		t.Fatalf("the error names %d rules, want %d: %v", len(long.Largest), len(want), err)
	}
	sum := long.Rest
	for i, w := range want {
		got := long.Largest[i]
		sort.Strings(got.Syscalls)
		if got.Rule != w.rule || !slices.Equal(got.Syscalls, w.syscalls) || got.Insns < w.min || got.Insns > w.max {
			t.Errorf("largest %d: %+v, want rule %q on %v with %d to %d instructions", i, got, w.rule, w.syscalls, w.min, w.max)
		}
		sum += got.Insns
	}
	if sum != long.Compiled || long.Compiled < long.Insns {
		t.Errorf("the rules named and the rest add up to %d instructions, the program had %d before optimization, %d after", sum, long.Compiled, long.Insns)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf(`compiled before optimization, rule "many" takes %d (read), rule "pair" %d (`, long.Largest[0].Insns, long.Largest[1].Insns)) {
		t.Errorf("error does not name the largest rule with its syscall and size: %v", err)
	}
	t.Log(err)
}

// farJumps counts the sides of conditional jumps whose destination, after
// the unconditional jump they land on, lies beyond the 255 instructions a
// conditional jump reaches.
func farJumps(p bpf.Program) int {
	n := 0
	for pc, in := range p {
		if in.Code&0x07 != bpf.ClassJMP || in.Code&0xf0 == bpf.JmpJA {
			continue
		}
		for _, off := range []uint8{in.Jt, in.Jf} {
			dest := pc + 1 + int(off)
			if dest < len(p) && p[dest].Code == bpf.ClassJMP|bpf.JmpJA {
				if dest+1+int(p[dest].K)-(pc+1) > 255 {
					n++
				}
			}
		}
	}
	return n
}
