package bpf

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// tData is the seccomp_data most interpreter tests run over: execve on
// x86_64 with arg0 = 0x0000000100000002.
func tData(order binary.ByteOrder) [DataSize]byte {
	return MakeData(59, 0xc000003e, 0x1122334455667788,
		[6]uint64{0x0000000100000002, 0xffffffffffffffff, 0, 0, 0, 0x8000000000000000}, order)
}

func tMustVM(t testing.TB, p Program, order binary.ByteOrder) *VM {
	t.Helper()
	vm, err := NewVM(p, order)
	if err != nil {
		t.Fatalf("NewVM: %v\n%s", err, Disassemble(p, order, nil))
	}
	return vm
}

func tAlu(op uint16, k uint32) Insn { return Stmt(ClassALU|op|SrcK, k) }
func tAluX(op uint16) Insn          { return Stmt(ClassALU|op|SrcX, 0) }
func tLdx(k uint32) Insn            { return Stmt(ClassLDX|ModeIMM, k) }
func tJmp(op uint16, k uint32, jt, jf uint8) Insn {
	return Jump(ClassJMP|op|SrcK, k, jt, jf)
}
func tJmpX(op uint16, jt, jf uint8) Insn { return Jump(ClassJMP|op|SrcX, 0, jt, jf) }

func TestRunInstructions(t *testing.T) {
	tax := Stmt(ClassMISC|MiscTAX, 0)
	txa := Stmt(ClassMISC|MiscTXA, 0)
	for _, tc := range []struct {
		name     string
		p        Program
		want     uint32
		executed int
	}{
		// Loads.
		{"ld nr", Program{tLdAbs(OffNr), tRetA}, 59, 2},
		{"ld arch", Program{tLdAbs(OffArch), tRetA}, 0xc000003e, 2},
		{"ld ip low (LE)", Program{tLdAbs(8), tRetA}, 0x55667788, 2},
		{"ld ip high (LE)", Program{tLdAbs(12), tRetA}, 0x11223344, 2},
		{"ld arg0 low (LE)", Program{tLdAbs(16), tRetA}, 2, 2},
		{"ld arg0 high (LE)", Program{tLdAbs(20), tRetA}, 1, 2},
		{"ld arg5 high (LE)", Program{tLdAbs(60), tRetA}, 0x80000000, 2},
		{"ld #len", Program{Stmt(ClassLD|SizeW|ModeLEN, 0), tRetA}, 64, 2},
		{"ldx #len", Program{Stmt(ClassLDX|SizeW|ModeLEN, 0), txa, tRetA}, 64, 3},
		{"ld #imm", Program{tLdImm(0xdeadbeef), tRetA}, 0xdeadbeef, 2},
		{"ldx #imm", Program{tLdx(0xfeedface), txa, tRetA}, 0xfeedface, 3},
		{"A and X start at 0", Program{tAluX(AluADD), tRetA}, 0, 2},
		{"X starts at 0", Program{txa, tRetA}, 0, 2},
		// Scratch memory.
		{"st, ld M", Program{tLdImm(5), Stmt(ClassST, 3), tLdImm(0), Stmt(ClassLD|ModeMEM, 3), tRetA}, 5, 5},
		{"stx, ldx M", Program{tLdx(7), Stmt(ClassSTX, 15), tLdx(0), Stmt(ClassLDX|ModeMEM, 15), txa, tRetA}, 7, 6},
		{"cells are separate", Program{tLdImm(1), Stmt(ClassST, 0), tLdImm(2), Stmt(ClassST, 1), Stmt(ClassLD|ModeMEM, 0), tRetA}, 1, 6},
		// ALU with K, 32-bit wraparound, unsigned.
		{"add wraps", Program{tLdImm(0xffffffff), tAlu(AluADD, 2), tRetA}, 1, 3},
		{"sub wraps", Program{tLdImm(1), tAlu(AluSUB, 2), tRetA}, 0xffffffff, 3},
		{"mul wraps", Program{tLdImm(0x10000), tAlu(AluMUL, 0x10001), tRetA}, 0x10000, 3},
		{"div truncates", Program{tLdImm(100), tAlu(AluDIV, 7), tRetA}, 14, 3},
		{"div is unsigned", Program{tLdImm(0xfffffffe), tAlu(AluDIV, 2), tRetA}, 0x7fffffff, 3},
		{"and", Program{tLdImm(0xff00ff00), tAlu(AluAND, 0x0ff00ff0), tRetA}, 0x0f000f00, 3},
		{"or", Program{tLdImm(0xff00ff00), tAlu(AluOR, 0x0ff00ff0), tRetA}, 0xfff0fff0, 3},
		{"xor", Program{tLdImm(0xff00ff00), tAlu(AluXOR, 0x0ff00ff0), tRetA}, 0xf0f0f0f0, 3},
		{"lsh drops high bits", Program{tLdImm(3), tAlu(AluLSH, 31), tRetA}, 0x80000000, 3},
		{"rsh is logical", Program{tLdImm(0xffffffff), tAlu(AluRSH, 4), tRetA}, 0x0fffffff, 3},
		{"lsh 0", Program{tLdImm(3), tAlu(AluLSH, 0), tRetA}, 3, 3},
		{"neg", Program{tLdImm(1), Stmt(ClassALU|AluNEG, 0), tRetA}, 0xffffffff, 3},
		{"neg 0", Program{Stmt(ClassALU|AluNEG, 0), tRetA}, 0, 2},
		{"neg MinInt32", Program{tLdImm(0x80000000), Stmt(ClassALU|AluNEG, 0), tRetA}, 0x80000000, 3},
		// ALU with X.
		{"add x", Program{tLdImm(0xfffffff0), tLdx(0x20), tAluX(AluADD), tRetA}, 0x10, 4},
		{"sub x", Program{tLdImm(0x10), tLdx(0x20), tAluX(AluSUB), tRetA}, 0xfffffff0, 4},
		{"mul x", Program{tLdImm(0xffffffff), tLdx(0xffffffff), tAluX(AluMUL), tRetA}, 1, 4},
		{"div x", Program{tLdImm(0xffffffff), tLdx(0x10), tAluX(AluDIV), tRetA}, 0x0fffffff, 4},
		{"and x", Program{tLdImm(6), tLdx(3), tAluX(AluAND), tRetA}, 2, 4},
		{"or x", Program{tLdImm(6), tLdx(3), tAluX(AluOR), tRetA}, 7, 4},
		{"xor x", Program{tLdImm(6), tLdx(3), tAluX(AluXOR), tRetA}, 5, 4},
		{"lsh x", Program{tLdImm(1), tLdx(31), tAluX(AluLSH), tRetA}, 0x80000000, 4},
		{"rsh x", Program{tLdImm(0x80000000), tLdx(31), tAluX(AluRSH), tRetA}, 1, 4},
		// The kernel's interpreter shifts by X mod 32.
		{"lsh x by 33 is lsh 1", Program{tLdImm(3), tLdx(33), tAluX(AluLSH), tRetA}, 6, 4},
		{"rsh x by 32 is rsh 0", Program{tLdImm(0x80), tLdx(32), tAluX(AluRSH), tRetA}, 0x80, 4},
		// Division by X == 0 ends the program with 0.
		{"div x by 0 returns 0", Program{tLdImm(7), tLdx(0), tAluX(AluDIV), tRetK(0x7fff0000)}, 0, 3},
		// tax, txa.
		{"tax", Program{tLdImm(9), tax, tLdImm(0), txa, tRetA}, 9, 5},
		// Jumps compare unsigned.
		{"jeq true", Program{tLdAbs(OffNr), tJmp(JmpJEQ, 59, 0, 1), tRetK(1), tRetK(2)}, 1, 3},
		{"jeq false", Program{tLdAbs(OffNr), tJmp(JmpJEQ, 60, 0, 1), tRetK(1), tRetK(2)}, 2, 3},
		{"jgt unsigned", Program{tLdImm(0xffffffff), tJmp(JmpJGT, 1, 0, 1), tRetK(1), tRetK(2)}, 1, 3},
		{"jgt equal is false", Program{tLdImm(5), tJmp(JmpJGT, 5, 0, 1), tRetK(1), tRetK(2)}, 2, 3},
		{"jge equal is true", Program{tLdImm(5), tJmp(JmpJGE, 5, 0, 1), tRetK(1), tRetK(2)}, 1, 3},
		{"jge less", Program{tLdImm(4), tJmp(JmpJGE, 5, 0, 1), tRetK(1), tRetK(2)}, 2, 3},
		{"jset true", Program{tLdImm(6), tJmp(JmpJSET, 2, 0, 1), tRetK(1), tRetK(2)}, 1, 3},
		{"jset false", Program{tLdImm(6), tJmp(JmpJSET, 9, 0, 1), tRetK(1), tRetK(2)}, 2, 3},
		{"jeq x", Program{tLdImm(3), tLdx(3), tJmpX(JmpJEQ, 0, 1), tRetK(1), tRetK(2)}, 1, 4},
		{"jgt x unsigned", Program{tLdImm(0x80000000), tLdx(1), tJmpX(JmpJGT, 0, 1), tRetK(1), tRetK(2)}, 1, 4},
		{"jge x", Program{tLdImm(1), tLdx(2), tJmpX(JmpJGE, 0, 1), tRetK(1), tRetK(2)}, 2, 4},
		{"jset x", Program{tLdImm(1), tLdx(2), tJmpX(JmpJSET, 0, 1), tRetK(1), tRetK(2)}, 2, 4},
		{"jump skips", Program{tJmp(JmpJEQ, 0, 2, 0), tRetK(1), tRetK(2), tRetK(3)}, 3, 2},
		{"ja", Program{Stmt(ClassJMP|JmpJA, 2), tRetK(1), tRetK(2), tRetK(3)}, 3, 2},
		{"ja 0", Program{Stmt(ClassJMP|JmpJA, 0), tRetK(1)}, 1, 2},
		// Returns.
		{"ret k", Program{tLdImm(1), tRetK(0x80000000)}, 0x80000000, 2},
		{"ret a", Program{tLdImm(0x50001), tRetA}, 0x50001, 2},
	} {
		res, err := Run(tc.p, tDataLE[:], binary.LittleEndian, Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if res.Ret != tc.want || res.Executed != tc.executed {
			t.Errorf("%s: ret %#x after %d instructions, want %#x after %d", tc.name, res.Ret, res.Executed, tc.want, tc.executed)
		}
		if res.Path != nil {
			t.Errorf("%s: Path %v without Trace", tc.name, res.Path)
		}
	}
}

var tDataLE, tDataBE = tData(binary.LittleEndian), tData(binary.BigEndian)

// The same loads read the other halves of 64-bit fields on a big-endian
// machine; nr and arch do not move.
func TestRunBigEndianLoads(t *testing.T) {
	for _, tc := range []struct {
		k    uint32
		want uint32
	}{
		{OffNr, 59}, {OffArch, 0xc000003e},
		{8, 0x11223344}, {12, 0x55667788},
		{16, 1}, {20, 2}, // arg0: high word first
		{56, 0x80000000}, {60, 0},
	} {
		res, err := Run(Program{tLdAbs(tc.k), tRetA}, tDataBE[:], binary.BigEndian, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ret != tc.want {
			t.Errorf("ld [%d] big endian = %#x, want %#x", tc.k, res.Ret, tc.want)
		}
	}
}

// argCheck returns KILL unless arg0 == 0x0000000100000002, comparing the
// words at the offsets ArgLow and ArgHigh give for order.
func tArgCheck(order binary.ByteOrder) Program {
	return Program{
		tLdAbs(ArgHigh(0, order)),
		tJmp(JmpJEQ, 1, 0, 3),
		tLdAbs(ArgLow(0, order)),
		tJmp(JmpJEQ, 2, 0, 1),
		tRetK(0x7fff0000),
		tRetK(0x80000000),
	}
}

func TestRunByteOrder(t *testing.T) {
	orders := []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}
	for _, order := range orders {
		other := binary.ByteOrder(binary.BigEndian)
		if order == binary.BigEndian {
			other = binary.LittleEndian
		}
		// Same logical data, each in its machine's layout: same verdict.
		for _, args := range [][6]uint64{{0x0000000100000002}, {0x0000000200000001}, {2}, {1 << 32}} {
			want := uint32(0x80000000)
			if args[0] == 0x0000000100000002 {
				want = 0x7fff0000
			}
			d := MakeData(59, 0, 0, args, order)
			res, err := Run(tArgCheck(order), d[:], order, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ret != want {
				t.Errorf("%v: arg0 %#x: %s, want %s", order, args[0], DescribeRet(res.Ret), DescribeRet(want))
			}
		}
		// The program compiled for the other byte order reads the
		// halves swapped and gets it wrong.
		d := MakeData(59, 0, 0, [6]uint64{0x0000000100000002}, order)
		res, err := Run(tArgCheck(other), d[:], order, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ret != 0x80000000 {
			t.Errorf("%v: a program for %v matched arg0 anyway", order, other)
		}
	}
	if ArgLow(0, binary.LittleEndian) == ArgLow(0, binary.BigEndian) {
		t.Error("the low word of arg0 is at the same offset in both byte orders")
	}
	// binary.NativeEndian works as the byte order it is.
	d := MakeData(59, 0, 0, [6]uint64{0x0000000100000002}, binary.NativeEndian)
	native := binary.ByteOrder(binary.LittleEndian)
	if big, _ := isBigEndian(binary.NativeEndian); big {
		native = binary.BigEndian
	}
	res, err := Run(tArgCheck(native), d[:], binary.NativeEndian, Options{})
	if err != nil || res.Ret != 0x7fff0000 {
		t.Errorf("NativeEndian: %s, %v", DescribeRet(res.Ret), err)
	}
}

func TestRunTrace(t *testing.T) {
	p := Program{
		tLdAbs(OffArch),
		tJmp(JmpJEQ, 0xc000003e, 0, 3),
		tLdAbs(OffNr),
		tJmp(JmpJEQ, 59, 1, 0),
		tRetK(0x7fff0000),
		tRetK(0x50001),
	}
	res, err := Run(p, tDataLE[:], binary.LittleEndian, Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 3, 5}; !reflect.DeepEqual(res.Path, want) || res.Executed != 5 || res.Ret != 0x50001 {
		t.Errorf("got %+v, want path %v, 5 executed, ERRNO(1)", res, want)
	}
	// Division by zero: the div is the last instruction executed.
	res, err = Run(Program{tLdx(0), tAluX(AluDIV), tRetA}, tDataLE[:], binary.LittleEndian, Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1}; !reflect.DeepEqual(res.Path, want) || res.Executed != 2 || res.Ret != 0 {
		t.Errorf("div by zero: got %+v, want path %v", res, want)
	}
}

func TestRunErrors(t *testing.T) {
	good := Program{tRetA}
	if _, err := Run(Program{tLdAbs(2), tRetA}, tDataLE[:], binary.LittleEndian, Options{}); err == nil {
		t.Error("misaligned load ran")
	} else if verr := (*ValidationError)(nil); !errors.As(err, &verr) || verr.PC != 0 {
		t.Errorf("error %v does not carry a ValidationError at pc 0", err)
	}
	for _, n := range []int{0, 63, 65} {
		_, err := Run(good, make([]byte, n), binary.LittleEndian, Options{})
		if err == nil || !strings.Contains(err.Error(), "want 64") {
			t.Errorf("%d bytes of data: err %v", n, err)
		}
	}
	if _, err := Run(good, tDataLE[:], nil, Options{}); err == nil {
		t.Error("nil byte order accepted")
	}
	if _, err := NewVM(nil, binary.LittleEndian); err == nil {
		t.Error("NewVM accepted an empty program")
	}
}

// VM.Run never fails: short data reads as zero-padded, longer data is cut.
func TestVMRunOddData(t *testing.T) {
	vm := tMustVM(t, Program{tLdAbs(60), tRetA}, binary.LittleEndian)
	if res := vm.Run(nil, Options{}); res.Ret != 0 || res.Executed != 2 {
		t.Errorf("nil data: %+v", res)
	}
	long := make([]byte, 100)
	long[60], long[64] = 7, 9
	if res := vm.Run(long, Options{}); res.Ret != 7 {
		t.Errorf("long data: %+v", res)
	}
	short := []byte{1, 2, 3}
	vm0 := tMustVM(t, Program{tLdAbs(0), tRetA}, binary.LittleEndian)
	if res := vm0.Run(short, Options{}); res.Ret != 0x030201 {
		t.Errorf("short data: %#x", res.Ret)
	}
}

func TestVMCoverage(t *testing.T) {
	p := Program{
		tLdAbs(OffNr),
		tJmp(JmpJEQ, 59, 0, 1),
		tRetK(0x50001),
		tJmp(JmpJEQ, 60, 0, 1),
		tRetK(0x50002),
		tRetK(0x7fff0000),
	}
	vm := tMustVM(t, p, binary.LittleEndian)
	if vm.Coverage() != nil || vm.Uncovered() != nil {
		t.Fatal("coverage reported before EnableCoverage")
	}
	vm.EnableCoverage()
	for _, nr := range []int32{59, 59, 61} {
		d := MakeData(nr, 0, 0, [6]uint64{}, binary.LittleEndian)
		vm.Run(d[:], Options{})
	}
	if got, want := vm.Coverage(), []uint64{3, 3, 2, 1, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("coverage %v, want %v", got, want)
	}
	if got, want := vm.Uncovered(), []int{4}; !reflect.DeepEqual(got, want) {
		t.Errorf("uncovered %v, want %v", got, want)
	}
	c := vm.Coverage()
	c[0] = 100
	if vm.Coverage()[0] != 3 {
		t.Error("Coverage returned the VM's own slice")
	}
	vm.ResetCoverage()
	if got := vm.Coverage(); !reflect.DeepEqual(got, make([]uint64, len(p))) {
		t.Errorf("after reset: %v", got)
	}
	if vm.Len() != len(p) {
		t.Errorf("Len %d, want %d", vm.Len(), len(p))
	}
}

func TestVMRunDoesNotAllocate(t *testing.T) {
	vm := tMustVM(t, benchProgram(), binary.LittleEndian)
	d := tDataLE
	if n := testing.AllocsPerRun(100, func() { vm.Run(d[:], Options{}) }); n != 0 {
		t.Errorf("Run allocates %v times per run", n)
	}
	vm.EnableCoverage()
	if n := testing.AllocsPerRun(100, func() { vm.Run(d[:], Options{}) }); n != 0 {
		t.Errorf("Run with coverage allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(100, func() { vm.Run(d[:], Options{Trace: true}) }); n != 1 {
		t.Errorf("Run with Trace allocates %v times per run, want 1", n)
	}
}

// benchProgram is shaped like a compiled policy: an arch check, a chain of
// syscall comparisons, and an argument check.
func benchProgram() Program {
	const n = 40 // syscalls before execve (59), each allowed
	const total = 4 + n + 5 + 2*n + 2
	const errno, allow = total - 2, total - 1
	rel := func(from, to int) uint8 { return uint8(to - from - 1) }
	p := Program{
		tLdAbs(OffArch),
		tJmp(JmpJEQ, 0xc000003e, 1, 0),
		tRetK(0x80000000),
		tLdAbs(OffNr),
	}
	for i := range n {
		p = append(p, tJmp(JmpJEQ, uint32(100+i), rel(len(p), allow), 0))
	}
	p = append(p, tJmp(JmpJEQ, 59, 0, rel(len(p), errno)))
	p = append(p, tLdAbs(ArgHigh(0, binary.LittleEndian)))
	p = append(p, tJmp(JmpJEQ, 1, 0, rel(len(p), errno)))
	p = append(p, tLdAbs(ArgLow(0, binary.LittleEndian)))
	p = append(p, tJmp(JmpJEQ, 2, rel(len(p), allow), rel(len(p), errno)))
	for range 2 * n {
		p = append(p, tRetK(0x80000000)) // padding nobody reaches
	}
	return append(p, tRetK(0x50001), tRetK(0x7fff0000))
}

func TestBenchProgram(t *testing.T) {
	p := benchProgram()
	res, err := Run(p, tDataLE[:], binary.LittleEndian, Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ret != 0x7fff0000 || res.Executed != 3+40+5+1 {
		t.Errorf("%s after %d: %v\n%s", DescribeRet(res.Ret), res.Executed, res.Path, Disassemble(p, binary.LittleEndian, nil))
	}
}

func BenchmarkVMRun(b *testing.B) {
	vm := tMustVM(b, benchProgram(), binary.LittleEndian)
	d := tDataLE
	b.ReportAllocs()
	for b.Loop() {
		vm.Run(d[:], Options{})
	}
}

func BenchmarkVMRunCoverage(b *testing.B) {
	vm := tMustVM(b, benchProgram(), binary.LittleEndian)
	vm.EnableCoverage()
	d := tDataLE
	b.ReportAllocs()
	for b.Loop() {
		vm.Run(d[:], Options{})
	}
}

func BenchmarkRun(b *testing.B) {
	p := benchProgram()
	d := tDataLE
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(p, d[:], binary.LittleEndian, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestZeroVM(t *testing.T) {
	var vm VM
	if res := vm.Run(nil, Options{Trace: true}); res.Executed != 0 || res.Ret != 0 {
		t.Errorf("zero VM: %+v", res)
	}
}
