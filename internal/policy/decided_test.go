package policy_test

import (
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/cond"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestDecided: Cmp.Decided decides exactly the comparisons that are
// constant, as internal/cond's exact diagram of each says, and gives their
// value.
func TestDecided(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	pool := []uint64{0, 1, 2, 0xf, 0x10, 0xff, 0x100, 0xffffffff, 0x100000000, ^uint64(0), ^uint64(0) - 1}
	pick := func() uint64 {
		v := pool[r.Intn(len(pool))]
		if r.Intn(4) == 0 {
			v = r.Uint64() >> r.Intn(64)
		}
		return v
	}
	for range 20000 {
		c := policy.Cmp{Arg: r.Intn(6), Mask: pick(), Op: policy.Op(r.Intn(6)), Value: pick()}
		ref, err := cond.New(0).Expr(c)
		if err != nil {
			t.Fatal(err)
		}
		constant := ref == cond.True || ref == cond.False
		always, ok := c.Decided()
		if ok != constant || ok && always != (ref == cond.True) {
			t.Fatalf("%v: Decided gives %v, %v; the diagram is constant %v, true %v", c, always, ok, constant, ref == cond.True)
		}
	}
}
