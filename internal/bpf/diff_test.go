package bpf

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	xbpf "golang.org/x/net/bpf"
)

// The interpreter is checked against golang.org/x/net/bpf's VM, an
// independent implementation of classic BPF over packets.
//
// How the two are made comparable:
//
//   - x/net's VM reads a packet and loads 32-bit words big-endian, while
//     seccomp_data is in the machine's byte order. Presenting x/net with
//     seccomp_data re-encoded word by word in big-endian makes each aligned
//     ld [k] read the same value in both, for either byte order.
//   - ld #len is x/net's ExtLen, the packet length: 64 here, as in seccomp.
//     But x/net decodes ldx #len (0x81) as the same LoadExtension, which
//     loads A, not X (instructions.go ignores the register for
//     opAddrModePacketLen): a bug in x/net, so ldx #len is left out here
//     and pinned by hand in TestRunInstructions and TestXNetLdxLenBug.
//   - x/net's Run returns int(A) or int(K) without clamping to the packet
//     length (v0.62.0: "return int(regA), nil"), so the full 32-bit
//     return value is compared; it is converted back with uint32 so that
//     the comparison also holds where int is 32 bits.
//   - Division by X == 0 returns 0 from both.
//   - The generator leaves out what x/net does differently or not at all:
//     neg (x/net's VM does not implement NegateA and fails), and lsh x and
//     rsh x, where Go's shift by X >= 32 gives 0 while the kernel shifts by
//     X mod 32. Those are pinned by hand in TestRunInstructions.

func toXNet(t testing.TB, p Program) *xbpf.VM {
	t.Helper()
	raw := make([]xbpf.RawInstruction, len(p))
	for i, in := range p {
		raw[i] = xbpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insns, ok := xbpf.Disassemble(raw)
	if !ok {
		t.Fatalf("x/net cannot decode the program:\n%s", Disassemble(p, nil, nil))
	}
	vm, err := xbpf.NewVM(insns)
	if err != nil {
		t.Fatalf("x/net NewVM: %v\n%s", err, Disassemble(p, nil, nil))
	}
	return vm
}

// xnetPacket re-encodes seccomp_data, laid out in order, as big-endian
// words.
func xnetPacket(data []byte, order binary.ByteOrder) []byte {
	pkt := make([]byte, len(data))
	for i := 0; i+4 <= len(data); i += 4 {
		binary.BigEndian.PutUint32(pkt[i:], order.Uint32(data[i:]))
	}
	return pkt
}

// tInteresting are constants and data words likely to make comparisons
// come out both ways.
var tInteresting = []uint32{0, 1, 2, 3, 59, 64, 0xc000003e, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}

func tPick(r *rand.Rand) uint32 {
	if r.IntN(2) == 0 {
		return tInteresting[r.IntN(len(tInteresting))]
	}
	return r.Uint32()
}

// genProgram makes a random program that Validate must accept, of the
// instructions both interpreters agree on: loads, stores, ALU ops except
// neg and shifts by X, tax/txa, forward jumps and returns.
func tGenProgram(r *rand.Rand, size int) Program {
	var p Program
	// Cells stored up front may be loaded anywhere: the stores come before
	// any jump, so they are on every path, as the kernel's check sees it.
	var stored []uint32
	for cell := range uint32(MemWords) {
		if r.IntN(4) == 0 {
			p = append(p, Stmt(ClassLD|ModeIMM, tPick(r)), Stmt(ClassST, cell))
			stored = append(stored, cell)
		}
	}
	total := len(p) + size + 1
	aluOps := []uint16{AluADD, AluSUB, AluMUL, AluDIV, AluAND, AluOR, AluXOR, AluLSH, AluRSH}
	aluXOps := []uint16{AluADD, AluSUB, AluMUL, AluDIV, AluAND, AluOR, AluXOR}
	jmpOps := []uint16{JmpJEQ, JmpJGT, JmpJGE, JmpJSET}
	offset := func(pc int) uint8 { // a forward offset that stays inside
		limit := min(total-pc-1, 256)
		return uint8(r.IntN(limit))
	}
	for len(p) < total-1 {
		pc := len(p)
		var in Insn
		switch r.IntN(14) {
		case 0, 1:
			in = Stmt(ClassLD|SizeW|ModeABS, 4*uint32(r.IntN(DataSize/4)))
		case 2:
			in = Stmt(ClassLD|ModeIMM, tPick(r))
		case 3:
			in = Stmt(ClassLDX|ModeIMM, tPick(r))
		case 4:
			in = Stmt(ClassLD|SizeW|ModeLEN, 0)
		case 5:
			op := aluOps[r.IntN(len(aluOps))]
			k := tPick(r)
			switch op {
			case AluDIV:
				k = max(k, 1)
			case AluLSH, AluRSH:
				k %= 32
			}
			in = Stmt(ClassALU|op|SrcK, k)
		case 6:
			in = Stmt(ClassALU|aluXOps[r.IntN(len(aluXOps))]|SrcX, 0)
		case 7:
			in = Stmt([]uint16{ClassMISC | MiscTAX, ClassMISC | MiscTXA}[r.IntN(2)], 0)
		case 8:
			in = Stmt([]uint16{ClassST, ClassSTX}[r.IntN(2)], uint32(r.IntN(MemWords)))
		case 9:
			if len(stored) == 0 {
				continue
			}
			in = Stmt([]uint16{ClassLD | ModeMEM, ClassLDX | ModeMEM}[r.IntN(2)], stored[r.IntN(len(stored))])
		case 10, 11:
			src := []uint16{SrcK, SrcX}[r.IntN(2)]
			in = Jump(ClassJMP|jmpOps[r.IntN(len(jmpOps))]|src, tPick(r), offset(pc), offset(pc))
		case 12:
			in = Stmt(ClassJMP|JmpJA, uint32(r.IntN(total-pc-1)))
		case 13:
			if r.IntN(3) == 0 {
				in = Stmt(ClassRET|RetA, 0)
			} else {
				in = Stmt(ClassRET|RetK, tPick(r))
			}
		}
		p = append(p, in)
	}
	if r.IntN(2) == 0 {
		return append(p, Stmt(ClassRET|RetA, 0))
	}
	return append(p, Stmt(ClassRET|RetK, tPick(r)))
}

func tGenData(r *rand.Rand) []byte {
	d := make([]byte, DataSize)
	for i := 0; i < DataSize; i += 4 {
		binary.LittleEndian.PutUint32(d[i:], tPick(r))
	}
	return d
}

func TestDifferentialXNet(t *testing.T) {
	programs, inputs := 3000, 30
	if testing.Short() {
		programs = 300
	}
	r := rand.New(rand.NewPCG(1, 2))
	// What ran, so that the comparison is known not to be vacuous.
	executed := map[uint16]int{}
	branches := map[bool]int{} // conditional jumps taken, not taken
	for i := range programs {
		p := tGenProgram(r, 1+r.IntN(60))
		if err := Validate(p); err != nil {
			t.Fatalf("program %d: generated program is invalid: %v\n%s", i, err, Disassemble(p, nil, nil))
		}
		xvm := toXNet(t, p)
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			vm := tMustVM(t, p, order)
			for range inputs {
				data := tGenData(r)
				got := vm.Run(data, Options{Trace: true})
				want, err := xvm.Run(xnetPacket(data, order))
				if err != nil {
					t.Fatalf("x/net Run: %v", err)
				}
				if got.Ret != uint32(want) {
					t.Fatalf("program %d, %v, data %x: ret %#x, x/net %#x\npath %v\n%s",
						i, order, data, got.Ret, uint32(want), got.Path, Disassemble(p, order, nil))
				}
				for j, pc := range got.Path {
					in := p[pc]
					executed[in.Code]++
					if in.Code&0x07 == ClassJMP && in.Code&0xf0 != JmpJA && in.Jt != in.Jf && j+1 < len(got.Path) {
						branches[got.Path[j+1] == pc+1+int(in.Jt)]++
					}
				}
			}
		}
	}
	for _, code := range seccompOpcodes {
		switch code {
		case ClassALU | AluNEG, ClassALU | AluLSH | SrcX, ClassALU | AluRSH | SrcX, ClassLDX | SizeW | ModeLEN:
			continue // left out on purpose, see above
		}
		if executed[code] < 10 {
			t.Errorf("opcode %#x (%v) ran only %d times", code, Insn{Code: code}, executed[code])
		}
	}
	if branches[true] < 1000 || branches[false] < 1000 {
		t.Errorf("conditional jumps taken %d times, not taken %d times", branches[true], branches[false])
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("branches taken %d, not taken %d", branches[true], branches[false])
	}
}

// TestXNetLdxLenBug documents why the generator leaves ldx #len out: x/net
// loads the length into A. If x/net is fixed, this test fails and ldx #len
// can join the generator.
func TestXNetLdxLenBug(t *testing.T) {
	p := Program{Stmt(ClassLD|ModeIMM, 7), Stmt(ClassLDX|SizeW|ModeLEN, 0), Stmt(ClassRET|RetA, 0)}
	x, err := toXNet(t, p).Run(make([]byte, DataSize))
	if err != nil {
		t.Fatal(err)
	}
	ours := tMustVM(t, p, binary.LittleEndian).Run(make([]byte, DataSize), Options{})
	if ours.Ret != 7 || x != DataSize {
		t.Errorf("ldx #len then ret a: ours %d (want 7, A untouched), x/net %d (its bug gives 64)", ours.Ret, x)
	}
}
