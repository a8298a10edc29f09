package optimize

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/fuzzrand"
)

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// randConsts are the constants random programs compare with and load, so
// that comparisons meet and decide each other.
var randConsts = []uint32{0, 1, 2, 3, 5, 7, 0x10, 0xff, 0x80000000, 0xfffffffe, 0xffffffff}

func randConst(r *rand.Rand) uint32 {
	switch r.Intn(8) {
	case 0:
		return r.Uint32()
	case 1, 2, 3, 4:
		return uint32(r.Intn(4)) // small neighbours decide each other most
	}
	return randConsts[r.Intn(len(randConsts))]
}

// randProgram draws a valid program of n instructions: loads of a few
// words of seccomp_data and of constants, some arithmetic, X and scratch
// memory, conditional jumps on constants and on X, ja, and returns of a
// few actions and of A. Programs the kernel would refuse are drawn again.
func randProgram(r *rand.Rand, n int) bpf.Program {
	for range 1000 {
		p := make(bpf.Program, n)
		for pc := range p {
			p[pc] = randInsn(r, pc, n)
		}
		if bpf.Validate(p) == nil {
			return p
		}
	}
	return bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow)} // a fuzzer's source run dry
}

// randWords are the words random programs load: nr, arch, both halves of
// arg0 and arg1.
var randWords = []uint32{0, 4, 16, 20, 24, 28}

var randRets = []uint32{bpf.RetAllow, bpf.RetKillProcess, bpf.RetErrno | 1, bpf.RetLog}

func randInsn(r *rand.Rand, pc, n int) bpf.Insn {
	left := n - pc - 1
	if left == 0 {
		return bpf.Stmt(bpf.ClassRET|bpf.RetK, randRets[r.Intn(len(randRets))])
	}
	off := func() uint8 { return uint8(r.Intn(min(left, 256))) }
	switch k := r.Intn(40); {
	case k < 10:
		if r.Intn(2) == 0 {
			return bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, randWords[r.Intn(2)]) // the same few words
		}
		return bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, randWords[r.Intn(len(randWords))])
	case k < 24:
		op := []uint16{bpf.JmpJEQ, bpf.JmpJEQ, bpf.JmpJGT, bpf.JmpJGE, bpf.JmpJSET}[r.Intn(5)]
		if r.Intn(10) == 0 {
			return bpf.Jump(bpf.ClassJMP|op|bpf.SrcX, 0, off(), off())
		}
		return bpf.Jump(bpf.ClassJMP|op, randConst(r), off(), off())
	case k < 27:
		return bpf.Stmt(bpf.ClassJMP|bpf.JmpJA, uint32(off()))
	case k < 32:
		return bpf.Stmt(bpf.ClassRET|bpf.RetK, randRets[r.Intn(len(randRets))])
	case k < 33:
		return bpf.Stmt(bpf.ClassRET|bpf.RetA, 0)
	case k < 34:
		return bpf.Stmt(bpf.ClassLD|bpf.ModeIMM, randConst(r))
	case k < 35:
		return bpf.Stmt(bpf.ClassLDX|bpf.ModeIMM, randConst(r))
	case k < 36:
		return bpf.Stmt(bpf.ClassALU|[]uint16{bpf.AluADD, bpf.AluAND, bpf.AluOR, bpf.AluXOR}[r.Intn(4)], randConst(r))
	case k < 37:
		return bpf.Stmt(bpf.ClassMISC|[]uint16{bpf.MiscTAX, bpf.MiscTXA}[r.Intn(2)], 0)
	case k < 38:
		return bpf.Stmt(bpf.ClassST, uint32(r.Intn(2)))
	case n > 200:
		// Long programs would almost never store on every path to a
		// load of scratch memory.
		return bpf.Stmt(bpf.ClassST, uint32(r.Intn(2)))
	default:
		return bpf.Stmt(bpf.ClassLD|bpf.ModeMEM, uint32(r.Intn(2)))
	}
}

// progConsts are the constants a program compares with or loads.
func progConsts(p bpf.Program) []uint32 {
	out := []uint32{0, 0xffffffff}
	for _, in := range p {
		if in.Code&0x07 == bpf.ClassJMP || in.Code == bpf.ClassLD|bpf.ModeIMM {
			out = append(out, in.K)
		}
	}
	return out
}

// randInput draws a seccomp_data whose words are each a constant of the
// program, one next to it, or random.
func randInput(r *rand.Rand, consts []uint32, order binary.ByteOrder) []byte {
	d := make([]byte, bpf.DataSize)
	for off := 0; off < bpf.DataSize; off += 4 {
		v := r.Uint32()
		if r.Intn(6) != 0 {
			v = consts[r.Intn(len(consts))] + uint32(r.Intn(3)) - 1
		}
		order.PutUint32(d[off:], v)
	}
	return d
}

// checkEquivalent runs a and b, valid programs, on n random inputs
// derived from their constants, in both byte orders: b must return what a
// does, and never run more instructions.
func checkEquivalent(t testing.TB, a, b bpf.Program, n int, seed int64) {
	t.Helper()
	consts := append(progConsts(a), progConsts(b)...)
	r := newRand(seed)
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		va, err := bpf.NewVM(a, order)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := bpf.NewVM(b, order)
		if err != nil {
			t.Fatalf("%v\n%s", err, dis(b))
		}
		for range n {
			d := randInput(r, consts, order)
			ra, rb := va.Run(d, bpf.Options{}), vb.Run(d, bpf.Options{})
			if ra.Ret != rb.Ret || rb.Executed > ra.Executed {
				t.Fatalf("input %x: returns %#x after %d instructions, was %#x after %d\nbefore\n%safter\n%s",
					d, rb.Ret, rb.Executed, ra.Ret, ra.Executed, dis(a), dis(b))
			}
		}
	}
}

// TestProgramRandom is the differential test of the whole optimizer on
// random programs (see checkProgram).
func TestProgramRandom(t *testing.T) {
	r := newRand(1)
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		checkProgram(t, randProgram(r, 2+r.Intn(80)), int64(i), 300)
	}
}

// FuzzProgram is TestProgramRandom with programs drawn from the fuzzer's
// bytes; the seeds run with the tests.
func FuzzProgram(f *testing.F) {
	r := newRand(9)
	for range 16 {
		b := make([]byte, 64+r.Intn(1024))
		r.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := rand.New(fuzzrand.New(b))
		checkProgram(t, randProgram(r, 2+r.Intn(120)), int64(len(b)), 60)
	})
}

// checkProgram optimizes p and checks the result: the same returns on
// inputs near every constant, never more instructions run, never a longer
// program, the kernel's checks passed, and a fixed point, on that many
// random inputs.
func checkProgram(t *testing.T, p bpf.Program, seed int64, inputs int) {
	t.Helper()
	got := Program(p)
	if len(got) > len(p) {
		t.Fatalf("the program grew from %d to %d", len(p), len(got))
	}
	if err := bpf.Validate(got); err != nil {
		t.Fatalf("%v\n%s", err, dis(got))
	}
	checkEquivalent(t, p, got, inputs, seed)
	if again := Program(got); dis(again) != dis(got) {
		t.Fatalf("not a fixed point:\n%sthen\n%s", dis(got), dis(again))
	}
}

// TestProgramRandomLong is TestProgramRandom on programs of up to
// bpf.MaxInsns instructions, where threading and merging meet the
// 255-instruction reach of conditional jumps.
func TestProgramRandomLong(t *testing.T) {
	r := newRand(2)
	n := 12
	if testing.Short() {
		n = 2
	}
	for i := range n {
		p := randProgram(r, 1000+r.Intn(bpf.MaxInsns-1000))
		if len(p) < 1000 {
			t.Fatalf("no valid program drawn")
		}
		checkProgram(t, p, int64(i), 300)
	}
}
