package optimize

import (
	"encoding/binary"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// TestJumpsOnX checks what the compiler's parameters rely on
// (bpf.Builder.JumpIfParam): a jump comparing with X is neither decided by
// what is known of A (here A is 5, and X may be 5) nor merged with one
// that has another constant (another parameter), while two with the same
// constant are merged.
func TestJumpsOnX(t *testing.T) {
	ld := bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 16)
	ldNr := bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 0)
	jeqX := func(param uint32, jt, jf uint8) bpf.Insn {
		return bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcX, param, jt, jf)
	}
	allow, kill := bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow), bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess)
	countX := func(p bpf.Program) map[uint32]int {
		out := map[uint32]int{}
		for _, in := range p {
			if in.Code == bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcX {
				out[in.K]++
			}
		}
		return out
	}

	known := bpf.Program{ld, bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 5, 0, 2), jeqX(0, 0, 1), allow, kill}
	if got := Program(known); countX(got)[0] != 1 || countX(got)[5] != 0 {
		t.Errorf("the jump on X was decided from A == 5:\n%s", bpf.Disassemble(got, binary.LittleEndian, nil))
	}

	two := bpf.Program{ldNr, bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 1, 0, 2), ld, jeqX(0, 2, 3), ld, jeqX(1, 0, 1), allow, kill}
	if got := countX(Program(two)); got[0] != 1 || got[1] != 1 {
		t.Errorf("jumps on two parameters: %v, want one each", got)
	}
	same := append(bpf.Program(nil), two...)
	same[5] = jeqX(0, 0, 1)
	if got := countX(Program(same)); got[0] != 1 {
		t.Errorf("two blocks comparing with one parameter: %v jumps, want them merged into one", got)
	}
}
