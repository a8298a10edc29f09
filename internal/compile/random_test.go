package compile

import (
	"encoding/binary"
	"math/rand"

	"github.com/fencer-dev/fencer/internal/policy"
)

// testArch is what the random generators need to know of an architecture.
type testArch struct {
	name  string
	audit uint32
	order binary.ByteOrder
	bits  int
	x32   bool
}

var testArches = []testArch{
	{"x86_64", 0xc000003e, binary.LittleEndian, 64, true},
	{"aarch64", 0xc00000b7, binary.LittleEndian, 64, false},
	{"i386", 0x40000003, binary.LittleEndian, 32, false},
	{"arm", 0x40000028, binary.LittleEndian, 32, false},
	{"riscv64", 0xc00000f3, binary.LittleEndian, 64, false},
	{"ppc64le", 0xc0000015, binary.LittleEndian, 64, false},
	{"s390x", 0x80000016, binary.BigEndian, 64, false},
}

// gen64 draws values that matter to comparisons: boundaries, words with
// only the high or low half set, and random bits.
func gen64(r *rand.Rand) uint64 {
	switch r.Intn(12) {
	case 0:
		return 0
	case 1:
		return uint64(r.Intn(8))
	case 2:
		return 0xffffffff
	case 3:
		return ^uint64(0)
	case 4:
		return 1 << 32
	case 5:
		return uint64(r.Uint32()) << 32
	case 6:
		return uint64(r.Uint32())<<32 | uint64(r.Intn(4))
	case 7:
		return uint64(r.Intn(1 << 16))
	case 8:
		return 0x80000000 + uint64(r.Intn(3)) - 1
	default:
		return r.Uint64()
	}
}

// randMask draws the masks a resolved policy carries: the argument's width
// (64, 32 or 16 bits), masked(...) values, and narrower ones.
func randMask(r *rand.Rand, a testArch) uint64 {
	var m uint64
	switch r.Intn(8) {
	case 0, 1, 2:
		m = ^uint64(0)
	case 3, 4:
		m = 0xffffffff
	case 5:
		m = 0xffff
	case 6:
		m = gen64(r)
	default:
		m = uint64(1) << r.Intn(64)
	}
	if a.bits == 32 {
		m &= 0xffffffff
	}
	return m
}

func randValue(r *rand.Rand, mask uint64) uint64 {
	v := gen64(r)
	if r.Intn(4) != 0 {
		v &= mask
	}
	return v
}

func randExpr(r *rand.Rand, a testArch, depth int) policy.Expr {
	k := r.Intn(10)
	if depth <= 0 {
		k = 9
	}
	switch k {
	case 0:
		return policy.Const(r.Intn(2) == 0)
	case 1, 2:
		n := r.Intn(4)
		x := make(policy.And, n)
		for i := range x {
			x[i] = randExpr(r, a, depth-1)
		}
		return x
	case 3, 4:
		n := r.Intn(4)
		x := make(policy.Or, n)
		for i := range x {
			x[i] = randExpr(r, a, depth-1)
		}
		return x
	case 5:
		return policy.Not{X: randExpr(r, a, depth-1)}
	case 6:
		return randSet(r, a)
	default:
		m := randMask(r, a)
		return policy.Cmp{Arg: r.Intn(6), Mask: m, Op: policy.Op(r.Intn(6)), Value: randValue(r, m)}
	}
}

// randSet draws what `contains([...], argN)` and `!contains` resolve to:
// an || of equalities (or an && of inequalities) of one argument with
// values near each other, so that runs of consecutive values, which the
// compiler checks as ranges, meet gaps, duplicates, the ends of the mask
// and values the mask cannot produce.
func randSet(r *rand.Rand, a testArch) policy.Expr {
	m := randMask(r, a)
	if r.Intn(2) == 0 {
		m &= 0xffffffff
	}
	base := randValue(r, m) & m
	if r.Intn(4) == 0 {
		base = m - uint64(r.Intn(4)) // at the top of what the mask allows
	}
	op, n := policy.EQ, 2+r.Intn(6)
	if r.Intn(2) == 0 {
		op = policy.NE
	}
	xs := make([]policy.Expr, n)
	for i := range xs {
		xs[i] = policy.Cmp{Arg: r.Intn(2), Mask: m, Op: op, Value: base + uint64(r.Intn(n+2))}
	}
	if op == policy.EQ {
		return policy.Or(xs)
	}
	return policy.And(xs)
}

func randAction(r *rand.Rand) policy.Action {
	switch r.Intn(8) {
	case 0, 1, 2:
		return policy.ActAllow
	case 3:
		return policy.Action{Kind: policy.Log}
	case 4:
		// 4095 is kept out: the kernel probe reads it as "passed".
		return policy.Action{Kind: policy.Errno, Data: uint16(1 + r.Intn(policy.MaxErrno-1))}
	case 5:
		return policy.Action{Kind: policy.Trap, Data: uint16(r.Intn(1 << 16))}
	case 6:
		return policy.Action{Kind: policy.KillThread}
	default:
		return policy.ActKillProcess
	}
}

// randFilter draws a policy whose syscalls come from a small pool, so that
// several rules meet on one syscall, with every operator, nesting,
// negation, masks, ranges and actions.
func randFilter(r *rand.Rand, a testArch) *policy.Filter {
	f := &policy.Filter{
		Service:   "random",
		Arch:      a.name,
		AuditArch: a.audit,
		Order:     a.order,
		X32:       a.x32,
		Default:   randAction(r),
	}
	pool := make([]uint32, 1+r.Intn(8))
	for i := range pool {
		pool[i] = uint32(r.Intn(450))
	}
	for i, n := 0, r.Intn(12); i < n; i++ {
		var when policy.Expr = policy.Const(true)
		if r.Intn(4) != 0 {
			when = randExpr(r, a, 1+r.Intn(4))
		}
		f.Rules = append(f.Rules, policy.Rule{
			Name:   "r",
			Nr:     pool[r.Intn(len(pool))],
			When:   when,
			Action: randAction(r),
		})
	}
	// An exec-once gate on a third of the policies, on a syscall of the
	// pool (which rules may name too: the gate wins) or another one.
	if r.Intn(3) == 0 {
		nr := uint32(r.Intn(450))
		if r.Intn(2) == 0 {
			nr = pool[r.Intn(len(pool))]
		}
		f.ExecOnce = []uint32{nr}
	}
	return f
}

// constants collects every value and mask a condition mentions.
func constants(e policy.Expr, out []uint64) []uint64 {
	switch x := e.(type) {
	case policy.And:
		for _, y := range x {
			out = constants(y, out)
		}
	case policy.Or:
		for _, y := range x {
			out = constants(y, out)
		}
	case policy.Not:
		out = constants(x.X, out)
	case policy.Cmp:
		out = append(out, x.Value, x.Mask, x.Value&x.Mask)
	}
	return out
}

// randData draws an input derived from the policy's rules: their syscall
// numbers, other syscalls' numbers, the x32 range, a foreign architecture;
// arguments equal to each constant and its neighbours, with the high word
// set or cleared.
func randData(r *rand.Rand, f *policy.Filter, consts []uint64) policy.Data {
	d := policy.Data{Arch: f.AuditArch, IP: r.Uint64()}
	switch r.Intn(20) {
	case 0:
		d.Arch = testArches[r.Intn(len(testArches))].audit
	case 1:
		d.Arch = r.Uint32()
	}
	switch k := r.Intn(13); {
	case k == 12 && len(f.ExecOnce) > 0:
		d.Nr = int32(f.ExecOnce[r.Intn(len(f.ExecOnce))]) + int32(r.Intn(3)/2)
	case k < 7 && len(f.Rules) > 0:
		d.Nr = int32(f.Rules[r.Intn(len(f.Rules))].Nr)
	case k == 7 && len(f.Rules) > 0:
		d.Nr = int32(f.Rules[r.Intn(len(f.Rules))].Nr) + int32(r.Intn(3)) - 1
	case k == 8:
		d.Nr = int32(policy.X32Bit | uint32(r.Intn(600)))
	case k == 9:
		d.Nr = int32(r.Uint32())
	default:
		d.Nr = int32(r.Intn(500))
	}
	for i := range d.Args {
		var v uint64
		if len(consts) > 0 && r.Intn(5) != 0 {
			v = consts[r.Intn(len(consts))]
			switch r.Intn(6) {
			case 0:
				v++
			case 1:
				v--
			case 2:
				v ^= uint64(r.Uint32()) << 32
			case 3:
				v &= 0xffffffff
			}
		} else {
			v = gen64(r)
		}
		d.Args[i] = v
	}
	return d
}

func filterConstants(f *policy.Filter) []uint64 {
	var consts []uint64
	for _, rule := range f.Rules {
		consts = constants(rule.When, consts)
		// Arguments equal to syscall numbers catch code that compares an
		// argument where it meant the number.
		consts = append(consts, uint64(rule.Nr))
	}
	for _, nr := range f.ExecOnce {
		consts = append(consts, uint64(nr))
	}
	return consts
}
