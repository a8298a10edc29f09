package optimize

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// checkExhaustive optimizes p and requires the result to return what p
// does, after no more instructions, on every input whose words at
// offsets 0, 16 and 24 are each one of vals (the other words 0), in both
// byte orders.
func checkExhaustive(t *testing.T, p bpf.Program, vals []uint32) {
	t.Helper()
	got := Program(p)
	if err := bpf.Validate(got); err != nil {
		t.Fatalf("%v\n%s", err, dis(got))
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		va, err := bpf.NewVM(p, order)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := bpf.NewVM(got, order)
		if err != nil {
			t.Fatal(err)
		}
		d := make([]byte, bpf.DataSize)
		for _, w0 := range vals {
			for _, w16 := range vals {
				for _, w24 := range vals {
					order.PutUint32(d[0:], w0)
					order.PutUint32(d[16:], w16)
					order.PutUint32(d[24:], w24)
					ra, rb := va.Run(d, bpf.Options{}), vb.Run(d, bpf.Options{})
					if ra.Ret != rb.Ret || rb.Executed > ra.Executed {
						t.Fatalf("words %#x %#x %#x: returns %#x after %d instructions, was %#x after %d\nbefore\n%safter\n%s",
							w0, w16, w24, rb.Ret, rb.Executed, ra.Ret, ra.Executed, dis(p), dis(got))
					}
				}
			}
		}
	}
}

// TestAdversarial are programs built to tempt the passes into changing
// what they return: a jump threaded past a load whose value a later
// `ret a`, `st` or `tax` needs; a redundant-looking load after a join of
// paths on which A differs; tails merged whose accumulator differs on
// entry; facts at the edges of the 32-bit range.
func TestAdversarial(t *testing.T) {
	vals := []uint32{0, 1, 2, 3, 5, 7, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}
	for _, c := range []struct{ name, prog string }{
		{"threading past a load that ret a returns", `
ld [16]
jeq #5, 2, 8
ld [24]
jeq #7, 4, 8
ld [16]
jeq #5, 6, 8
ret a
ret kill
ret allow`},
		{"threading past a load that st keeps", `
ld [16]
jeq #5, 2, 10
ld [24]
jeq #7, 4, 10
ld [16]
jeq #5, 6, 10
st M[0]
ld #1
ld M[0]
ret a
ret allow`},
		{"threading past a load that tax copies", `
ld [16]
jeq #5, 2, 10
ld [24]
jeq #7, 4, 10
ld [16]
jeq #5, 6, 10
tax
ld [24]
jeq x, 10, 9
ret kill
ret allow`},
		{"a load after a join where A differs", `
ld [0]
jeq #1, 2, 4
ld [24]
ja 5
ld [16]
ld [24]
jeq #2, 7, 8
ret allow
ret a`},
		{"a load after a join where one path computed A", `
ld [16]
jeq #1, 2, 4
add #1
ja 5
ld [16]
ld [16]
jeq #2, 7, 8
ret allow
ret kill`},
		{"equal tails with A from different words", `
ld [0]
jeq #1, 2, 5
ld [16]
jeq #3, 8, 9
ret kill
ld [24]
jeq #3, 8, 9
ret kill
ret allow
ret a`},
		{"equal tails entered with and without a load", `
ld [16]
jge #3, 2, 4
jeq #3, 7, 8
ret kill
ld [24]
jeq #3, 7, 8
ret kill
ret allow
ret a`},
		{"the top of the range", `
ld [16]
jgt #0xfffffffe, 2, 4
ld [16]
jeq #0xffffffff, 6, 5
jge #0xffffffff, 5, 6
ret kill
ret allow`},
		{"the bottom of the range", `
ld [16]
jge #1, 3, 2
jeq #0, 4, 5
jgt #0, 4, 5
ret allow
ret kill`},
		{"not equal to the last value left", `
ld [16]
jge #0xfffffffe, 2, 6
jeq #0xfffffffe, 6, 3
jeq #0xffffffff, 4, 5
ret allow
ret kill
ret errno`},
		{"jset of several bits taken proves none", `
ld [16]
jset #0x3, 2, 4
jset #0x1, 3, 4
ret allow
jset #0x2, 5, 6
ret kill
ret errno`},
		{"a word learnt, then A computed from it", `
ld [16]
jeq #3, 2, 6
and #1
jeq #1, 4, 6
ld [16]
jeq #3, 7, 8
ret errno
ret allow
ret kill`},
		{"a constant load decides, then A is returned", `
ld [16]
jeq #2, 2, 5
ld #2
jeq #2, 7, 6
ld [24]
jeq #2, 7, 6
ret kill
ret a`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := asm(t, c.prog)
			if err := bpf.Validate(p); err != nil {
				t.Fatalf("the case's program is invalid: %v", err)
			}
			checkExhaustive(t, p, vals)
		})
	}
}

// TestSmallProgramsExhaustive draws many short programs over three words
// and a few values, so that comparisons decide each other often, and
// checks each optimized one on every combination of those values.
func TestSmallProgramsExhaustive(t *testing.T) {
	r := rand.New(rand.NewSource(41))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	vals := []uint32{0, 1, 2, 3, 0xffffffff}
	words := []uint32{0, 16, 24}
	drawn, changed := 0, 0
	for range n {
		size := 3 + r.Intn(24)
		var p bpf.Program
		for range 100 {
			p = make(bpf.Program, size)
			for pc := range p {
				left := size - pc - 1
				off := func() uint8 { return uint8(r.Intn(left)) }
				k := uint32(r.Intn(4))
				if r.Intn(8) == 0 {
					k = 0xffffffff - uint32(r.Intn(2))
				}
				switch x := r.Intn(20); {
				case left == 0 || x < 3:
					p[pc] = bpf.Stmt(bpf.ClassRET|bpf.RetK, randRets[r.Intn(len(randRets))])
				case x < 4:
					p[pc] = bpf.Stmt(bpf.ClassRET|bpf.RetA, 0)
				case x < 8:
					p[pc] = bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, words[r.Intn(len(words))])
				case x < 14:
					op := []uint16{bpf.JmpJEQ, bpf.JmpJGT, bpf.JmpJGE, bpf.JmpJSET}[r.Intn(4)]
					if r.Intn(8) == 0 {
						p[pc] = bpf.Jump(bpf.ClassJMP|op|bpf.SrcX, 0, off(), off())
					} else {
						p[pc] = bpf.Jump(bpf.ClassJMP|op, k, off(), off())
					}
				case x < 15:
					p[pc] = bpf.Stmt(bpf.ClassJMP|bpf.JmpJA, uint32(off()))
				case x < 16:
					p[pc] = bpf.Stmt(bpf.ClassLD|bpf.ModeIMM, k)
				case x < 17:
					p[pc] = bpf.Stmt(bpf.ClassALU|[]uint16{bpf.AluADD, bpf.AluAND, bpf.AluSUB}[r.Intn(3)], k)
				case x < 18:
					p[pc] = bpf.Stmt(bpf.ClassMISC|[]uint16{bpf.MiscTAX, bpf.MiscTXA}[r.Intn(2)], 0)
				case x < 19:
					p[pc] = bpf.Stmt(bpf.ClassST, 0)
				default:
					p[pc] = bpf.Stmt(bpf.ClassLD|bpf.ModeMEM, 0)
				}
			}
			if bpf.Validate(p) == nil {
				break
			}
			p = nil
		}
		if p == nil {
			continue
		}
		drawn++
		if dis(Program(p)) != dis(p) {
			changed++
		}
		checkExhaustive(t, p, vals)
	}
	// Most draws must be valid and many optimized, or the test proves
	// little.
	if drawn < n/2 || changed < drawn/4 {
		t.Errorf("%d of %d programs drawn, %d of them changed", drawn, n, changed)
	}
	t.Logf("%d of %d programs drawn, %d of them changed", drawn, n, changed)
}
