package compile

import (
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

func TestRanges(t *testing.T) {
	cmp := func(arg int, mask uint64, op policy.Op, v uint64) policy.Cmp {
		return policy.Cmp{Arg: arg, Mask: mask, Op: op, Value: v}
	}
	const m32, m64 = 0xffffffff, ^uint64(0)
	eq := func(v uint64) policy.Expr { return cmp(0, m32, policy.EQ, v) }
	ne := func(v uint64) policy.Expr { return cmp(0, m32, policy.NE, v) }
	for _, tc := range []struct {
		name string
		in   policy.Expr
		want string
	}{
		{"three fds kept out", policy.Not{X: policy.Or{eq(2), eq(1), eq(3)}},
			"!((arg0 & 0xffffffff) >= 0x1 && (arg0 & 0xffffffff) <= 0x3)"},
		{"two stay comparisons", policy.Or{eq(2), eq(1)}, "((arg0 & 0xffffffff) == 0x2 || (arg0 & 0xffffffff) == 0x1)"},
		{"run among others, in the place of its first member", policy.Or{eq(9), eq(5), cmp(1, m32, policy.EQ, 6), eq(6), eq(7), eq(5)},
			"((arg0 & 0xffffffff) == 0x9 || ((arg0 & 0xffffffff) >= 0x5 && (arg0 & 0xffffffff) <= 0x7) || (arg1 & 0xffffffff) == 0x6)"},
		{"from zero, one side", policy.Or{eq(0), eq(1), eq(2)}, "(arg0 & 0xffffffff) <= 0x2"},
		{"inequalities", policy.And{ne(4), ne(5), ne(6), ne(8)},
			"(((arg0 & 0xffffffff) < 0x4 || (arg0 & 0xffffffff) > 0x6) && (arg0 & 0xffffffff) != 0x8)"},
		{"to the top of the mask", policy.Or{cmp(0, 0xff, policy.EQ, 0xfd), cmp(0, 0xff, policy.EQ, 0xfe), cmp(0, 0xff, policy.EQ, 0xff)},
			"(arg0 & 0xff) >= 0xfd"},
		{"the whole mask", policy.And{cmp(0, 3, policy.NE, 0), cmp(0, 3, policy.NE, 1), cmp(0, 3, policy.NE, 2), cmp(0, 3, policy.NE, 3)},
			"false"},
		{"64-bit words keep their comparisons", policy.Or{cmp(0, m64, policy.EQ, 1), cmp(0, m64, policy.EQ, 2), cmp(0, m64, policy.EQ, 3)},
			"(arg0 == 0x1 || arg0 == 0x2 || arg0 == 0x3)"},
		{"different masks do not mix", policy.Or{cmp(0, 0xff, policy.EQ, 1), eq(2), cmp(0, 0xff, policy.EQ, 3)},
			"((arg0 & 0xff) == 0x1 || (arg0 & 0xffffffff) == 0x2 || (arg0 & 0xff) == 0x3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ranges(tc.in)
			if got.String() != tc.want {
				t.Errorf("ranges(%v)\n got %v\nwant %s", tc.in, got, tc.want)
			}
			// The meaning is unchanged around every value involved.
			for v := uint64(0); v < 12; v++ {
				for _, x := range []uint64{v, 0xfc + v, 0xffffffff - v, 1<<32 | v} {
					args := [6]uint64{x, 6}
					if policy.Eval(got, &args) != policy.Eval(tc.in, &args) {
						t.Fatalf("arg0=%#x: ranges gives %v, the condition %v", x, policy.Eval(got, &args), policy.Eval(tc.in, &args))
					}
				}
			}
		})
	}
}
