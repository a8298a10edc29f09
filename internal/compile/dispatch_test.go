package compile

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// constAllow is the kernel's check of whether a filter allows a syscall
// whatever its arguments (kernel/seccomp.c, seccomp_is_const_allow), which
// decides whether the action cache answers the syscall without running
// the filter: it follows the filter from the start with the syscall
// number and the architecture known, through loads of those two words,
// `and #k`, `ja` and the K-forms of jeq, jge, jgt and jset, and answers
// true when it reaches `ret #ALLOW`. Any other instruction on the way
// (a load of an argument or of the instruction pointer, for one) makes
// the answer false.
func constAllow(p bpf.Program, nr, arch uint32) bool {
	var a uint32
	for pc := 0; pc < len(p); pc++ {
		in := p[pc]
		switch in.Code {
		case bpf.ClassLD | bpf.SizeW | bpf.ModeABS:
			switch in.K {
			case bpf.OffNr:
				a = nr
			case bpf.OffArch:
				a = arch
			default:
				return false
			}
		case bpf.ClassRET | bpf.RetK:
			return in.K == bpf.RetAllow
		case bpf.ClassJMP | bpf.JmpJA:
			pc += int(in.K)
		case bpf.ClassJMP | bpf.JmpJEQ | bpf.SrcK, bpf.ClassJMP | bpf.JmpJGE | bpf.SrcK,
			bpf.ClassJMP | bpf.JmpJGT | bpf.SrcK, bpf.ClassJMP | bpf.JmpJSET | bpf.SrcK:
			var holds bool
			switch in.Code & 0xf0 {
			case bpf.JmpJEQ:
				holds = a == in.K
			case bpf.JmpJGE:
				holds = a >= in.K
			case bpf.JmpJGT:
				holds = a > in.K
			default:
				holds = a&in.K != 0
			}
			if holds {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpf.ClassALU | bpf.AluAND | bpf.SrcK:
			a &= in.K
		default:
			return false
		}
	}
	return false // off the end: the kernel warns
}

// alwaysAllowed reports whether the policy allows syscall nr whatever its
// arguments, from the rules themselves: it is not behind the exec-once
// gate nor an x32 number, and either no rule names it and the default is
// allow, or an unconditional rule allows it and no rule that could hold
// gives it anything else.
func alwaysAllowed(f *policy.Filter, nr uint32) bool {
	if f.X32 && nr >= policy.X32Bit {
		return false
	}
	for _, g := range f.ExecOnce {
		if g == nr {
			return false
		}
	}
	named, allowed := false, false
	for _, r := range f.Rules {
		if r.Nr != nr {
			continue
		}
		named = true
		when := (&simplifier{}).simplify(r.When)
		switch {
		case when == policy.Const(false):
		case r.Action != policy.ActAllow:
			return false
		case when == policy.Const(true):
			allowed = true
		}
	}
	if !named {
		return f.Default == policy.ActAllow
	}
	return allowed || f.Default == policy.ActAllow
}

// checkCached runs the kernel's cache check on syscall nr and requires it
// to find allowed every syscall the rules allow whatever the arguments
// (alwaysAllowed), and nothing the policy denies for some arguments: a
// syscall it finds allowed that alwaysAllowed does not see (a condition
// that always holds without being the constant true, which the optimizer
// may prove) must be allowed on random arguments drawn from the policy.
// It reports what the check found.
func checkCached(t *testing.T, r *rand.Rand, f *policy.Filter, prog bpf.Program, nr uint32) bool {
	t.Helper()
	want, got := alwaysAllowed(f, nr), constAllow(prog, nr, f.AuditArch)
	if want && !got {
		t.Fatalf("syscall %d: the policy allows it whatever its arguments, the kernel's cache check does not find it allowed\npolicy: %s\n%s",
			nr, describe(f), bpf.Disassemble(prog, f.Order, nil))
	}
	if got && !want {
		consts := filterConstants(f)
		for k := 0; k < 200; k++ {
			d := randData(r, f, consts)
			d.Nr, d.Arch = int32(nr), f.AuditArch
			if act := f.Decide(d); act != policy.ActAllow {
				t.Fatalf("syscall %d: the kernel's cache check finds it allowed whatever its arguments, the policy says %v for %#x\npolicy: %s\n%s",
					nr, act, d.Args, describe(f), bpf.Disassemble(prog, f.Order, nil))
			}
		}
	}
	return got
}

// numbersAround returns every number from 0 to n-1 and those around the
// edges of the number space: the x32 bit and the largest numbers.
func numbersAround(n uint32) []uint32 {
	nrs := make([]uint32, 0, n+8)
	for nr := uint32(0); nr < n; nr++ {
		nrs = append(nrs, nr)
	}
	return append(nrs, policy.X32Bit-1, policy.X32Bit, policy.X32Bit+1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff)
}

// allowListFilter draws an allow-list in the style of systemd's groups:
// runs of neighbouring syscalls allowed unconditionally, some denied
// with an errno or conditional, the rest the default.
func allowListFilter(r *rand.Rand, a testArch) *policy.Filter {
	f := randFilter(r, a)
	f.Rules = nil
	if r.Intn(3) == 0 {
		f.Default = policy.ActAllow
	}
	for nr := uint32(r.Intn(4)); nr < 460; nr++ {
		switch k := r.Intn(10); {
		case k < 4:
			f.Rules = append(f.Rules, policy.Rule{Name: "allow", Nr: nr, When: policy.Const(true), Action: policy.ActAllow})
		case k == 4:
			f.Rules = append(f.Rules, policy.Rule{Name: "deny", Nr: nr, When: policy.Const(true), Action: randAction(r)})
		case k == 5:
			f.Rules = append(f.Rules, policy.Rule{Name: "cond", Nr: nr, When: randExpr(r, a, 2), Action: randAction(r)})
		case k == 6:
			nr += uint32(r.Intn(40)) // a gap
		}
	}
	return f
}

// TestCacheable runs the kernel's action-cache check over every syscall
// number, on every architecture, for random policies, allow-lists and
// programs long enough to need far jumps, compiled and then optimized,
// and requires every syscall the
// policy allows whatever its arguments to be found allowed: no argument
// load on the way to its `ret ALLOW` (checkCached).
func TestCacheable(t *testing.T) {
	eachArch(t, 5, func(t *testing.T, a testArch, r *rand.Rand) {
		cached, far := 0, 0
		for i := 0; i < 120; i++ {
			var f *policy.Filter
			switch i % 3 {
			case 0:
				f = randFilter(r, a)
			case 1:
				f = allowListFilter(r, a)
			default:
				f = bigBlocks(r, a, 6, 40)
			}
			prog, st, err := Compile(f)
			if err != nil {
				t.Fatalf("compile: %v\npolicy: %s", err, describe(f))
			}
			far += farDispatchJumps(st.Unoptimized)
			// The program as compiled, and as the optimizer leaves it.
			for _, p := range []bpf.Program{st.Unoptimized, prog} {
				for _, nr := range numbersAround(600) {
					if checkCached(t, r, f, p, nr) {
						cached++
					}
					if constAllow(p, nr, a.audit^1) {
						t.Fatalf("syscall %d is found allowed for a foreign architecture", nr)
					}
				}
			}
		}
		if cached == 0 || far == 0 {
			t.Errorf("%d syscalls found cacheable, %d far jumps: the sample proves little", cached, far)
		}
	})
}

// eachArch runs test on every architecture in parallel subtests, each
// with a random source seeded by the architecture and seed.
func eachArch(t *testing.T, seed int64, test func(t *testing.T, a testArch, r *rand.Rand)) {
	for _, a := range testArches {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			test(t, a, rand.New(rand.NewSource(int64(a.audit)+seed)))
		})
	}
}

// checkNumbers compares program and policy on the numbers given, each
// with a few argument vectors drawn from the policy's constants.
func checkNumbers(t *testing.T, r *rand.Rand, f *policy.Filter, nrs []uint32) {
	t.Helper()
	consts := filterConstants(f)
	var inputs []policy.Data
	for _, nr := range nrs {
		for k := 0; k < 4; k++ {
			d := randData(r, f, consts)
			d.Nr, d.Arch = int32(nr), f.AuditArch
			inputs = append(inputs, d)
		}
	}
	check(t, f, inputs)
}

// TestRangeBoundaries compiles random policies with clusters of
// neighbouring syscalls, and compares program and policy on every
// syscall number at each edge of each range the dispatch tells apart
// (lo-1, lo, hi and hi+1), on every architecture.
func TestRangeBoundaries(t *testing.T) {
	eachArch(t, 9, func(t *testing.T, a testArch, r *rand.Rand) {
		edges := 0
		for i := 0; i < 300; i++ {
			f := randFilter(r, a)
			if i%2 == 0 {
				f = allowListFilter(r, a)
			}
			decs, err := lower(f)
			if err != nil {
				t.Fatal(err)
			}
			// The ranges as the dispatch sees them, labelled by target.
			targets := make([]bpf.Label, len(decs))
			for k, d := range decs {
				targets[k] = bpf.Label(fmt.Sprint(d.groups[0].action))
				if !d.unconditional() {
					targets[k] = bpf.Label(fmt.Sprint("block ", d.nr))
				}
			}
			var nrs []uint32
			for _, s := range spans(f, decs, targets, "default", "kill") {
				nrs = append(nrs, s.lo-1, s.lo, s.hi, s.hi+1)
				edges++
			}
			checkNumbers(t, r, f, nrs)
		}
		t.Logf("%d ranges' edges", edges)
	})
}

// bigBlocks returns a policy whose conditional syscalls have long blocks
// (alternatives comparing an argument with n constants each) amid
// unconditional ones, so that the dispatch's jumps cross hundreds of
// instructions of blocks.
func bigBlocks(r *rand.Rand, a testArch, syscalls, n int) *policy.Filter {
	f := allowListFilter(r, a)
	f.Default = policy.Action{Kind: policy.Errno, Data: 1}
	for i := 0; i < syscalls; i++ {
		var or policy.Or
		for v := 0; v < n; v++ {
			or = append(or, policy.Cmp{Arg: r.Intn(6), Mask: randMask(r, a), Op: policy.EQ, Value: uint64(r.Intn(1 << 20))})
		}
		f.Rules = append(f.Rules, policy.Rule{Name: fmt.Sprint("long", i), Nr: uint32(r.Intn(460)), When: or, Action: policy.ActAllow})
	}
	return f
}

// TestFarDispatch compiles policies whose blocks push the dispatch's
// targets beyond the 255 instructions a conditional jump reaches, and
// compares program and policy on every syscall number and the edges of
// the number space, on every architecture.
func TestFarDispatch(t *testing.T) {
	eachArch(t, 13, func(t *testing.T, a testArch, r *rand.Rand) {
		far := 0
		for i := 0; i < 6; i++ {
			f := bigBlocks(r, a, 8+r.Intn(8), 30+r.Intn(60))
			_, st, err := Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			// As compiled: the optimizer may shorten jumps out of it.
			far += farDispatchJumps(st.Unoptimized)
			checkNumbers(t, r, f, numbersAround(600))
		}
		if far == 0 {
			t.Error("no jump of the dispatch went beyond 255 instructions: the test proves nothing about far trees")
		}
	})
}

// farDispatchJumps counts the sides of the jumps comparing the syscall
// number (those reached from its load without another load) that reach
// their destination through a `ja` beyond 255 instructions.
func farDispatchJumps(p bpf.Program) int {
	n := 0
	seen := map[int]bool{}
	var walk func(pc int)
	walk = func(pc int) {
		if pc >= len(p) || seen[pc] {
			return
		}
		seen[pc] = true
		in := p[pc]
		switch {
		case in.Code == bpf.ClassJMP|bpf.JmpJA:
			walk(pc + 1 + int(in.K))
		case in.Code&0x07 == bpf.ClassJMP:
			for _, off := range []uint8{in.Jt, in.Jf} {
				dest := pc + 1 + int(off)
				if dest < len(p) && p[dest].Code == bpf.ClassJMP|bpf.JmpJA && dest+1+int(p[dest].K)-(pc+1) > 255 {
					n++
				}
				walk(dest)
			}
		}
	}
	for pc, in := range p {
		if in == bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr) {
			walk(pc + 1)
			break
		}
	}
	return n
}

// TestNearMaxInsns grows a policy until its program is as close to the
// kernel's 4096 instructions as one more comparison allows, checks that
// program against the policy on every syscall number, and the next one up
// is refused as too long.
func TestNearMaxInsns(t *testing.T) {
	eachArch(t, 17, func(t *testing.T, a testArch, r *rand.Rand) {
		base := bigBlocks(r, a, 40, 60)
		_, st, err := Compile(base)
		for n := 40; err != nil || st.Insns > bpf.MaxInsns*3/4; n -= 5 {
			base = bigBlocks(r, a, n, 40)
			_, st, err = Compile(base)
		}
		filler := uint32(r.Intn(460))
		with := func(n int) *policy.Filter {
			f := *base
			f.Rules = append([]policy.Rule(nil), base.Rules...)
			var or policy.Or
			for v := 0; v < n; v++ {
				or = append(or, policy.Cmp{Arg: 1, Mask: 0xffffffff, Op: policy.EQ, Value: uint64(3*v + 1)})
			}
			f.Rules = append(f.Rules, policy.Rule{Name: "filler", Nr: filler, When: or, Action: policy.Action{Kind: policy.Trap}})
			return &f
		}
		// The most alternatives that still fit: each takes an instruction
		// or so, so steps by the distance to the limit get there in a few
		// compilations.
		lo, hi := -1, -1 // the most known to fit, the fewest known not to
		for n, steps := bpf.MaxInsns-st.Insns, 0; hi < 0 || hi > lo+1; steps++ {
			if steps == 40 {
				t.Fatalf("no settling on the most comparisons that fit: %d fit, %d do not", lo, hi)
			}
			_, st, err := Compile(with(n))
			var long *TooLongError
			switch {
			case err == nil:
				lo = n
				n += max(1, bpf.MaxInsns-st.Insns)
			case errors.As(err, &long):
				hi = n
				n -= max(1, st.Insns-bpf.MaxInsns)
			default:
				t.Fatal(err)
			}
			n = max(n, lo+1, 0)
			if hi >= 0 {
				n = min(n, hi-1)
			}
		}
		f := with(lo)
		prog, _, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(prog) < bpf.MaxInsns-8 {
			t.Fatalf("the longest program that compiles has %d instructions: the test proves little near %d", len(prog), bpf.MaxInsns)
		}
		checkNumbers(t, r, f, numbersAround(600))
		_, _, err = Compile(with(lo + 1))
		var long *TooLongError
		if !errors.As(err, &long) {
			t.Fatalf("one more comparison: %v, want a TooLongError", err)
		}
		t.Logf("%d instructions", len(prog))
	})
}

// TestManyRanges compiles policies of more ranges than the dispatch
// search plans at once (every other number up to 2,400 named, with
// actions and conditions drawn at random), and compares program and
// policy on every number, and the cache check with the policy, on every
// architecture.
func TestManyRanges(t *testing.T) {
	eachArch(t, 21, func(t *testing.T, a testArch, r *rand.Rand) {
		f := randFilter(r, a)
		f.Rules = nil
		for nr := uint32(r.Intn(2)); nr < 2400; nr += 1 + uint32(r.Intn(2)) {
			var when policy.Expr = policy.Const(true)
			if r.Intn(8) == 0 {
				when = policy.Cmp{Arg: r.Intn(6), Mask: 0xffffffff, Op: policy.Op(r.Intn(6)), Value: uint64(r.Intn(8))}
			}
			f.Rules = append(f.Rules, policy.Rule{Name: "r", Nr: nr, When: when, Action: randAction(r)})
		}
		decs, err := lower(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(spans(f, decs, make([]bpf.Label, len(decs)), "default", "kill")); n <= maxPlanned {
			t.Fatalf("only %d ranges: the test proves nothing about planning in pieces", n)
		}
		prog, _, err := Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		nrs := numbersAround(2500)
		checkNumbers(t, r, f, nrs)
		for _, nr := range nrs {
			checkCached(t, r, f, prog, nr)
		}
		t.Logf("%d instructions", len(prog))
	})
}
