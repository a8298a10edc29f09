package bpf

import (
	"errors"
	"strings"
	"testing"
)

// Shorthands for test programs.
var (
	tLdAbs = func(k uint32) Insn { return Stmt(ClassLD|SizeW|ModeABS, k) }
	tLdImm = func(k uint32) Insn { return Stmt(ClassLD|ModeIMM, k) }
	tRetK  = func(k uint32) Insn { return Stmt(ClassRET|RetK, k) }
	tRetA  = Stmt(ClassRET|RetA, 0)
)

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Program
	}{
		{"single ret", Program{tRetK(0x7fff0000)}},
		{"ret a", Program{tRetA}},
		{"every seccomp load offset", func() Program {
			var p Program
			for k := uint32(0); k < DataSize; k += 4 {
				p = append(p, tLdAbs(k))
			}
			return append(p, tRetA)
		}()},
		{"ld len and ldx len", Program{Stmt(ClassLD|SizeW|ModeLEN, 0), Stmt(ClassLDX|SizeW|ModeLEN, 0), tRetA}},
		{"jump to the last instruction", Program{Jump(ClassJMP|JmpJEQ|SrcK, 1, 1, 0), tRetK(1), tRetK(2)}},
		{"ja to the last instruction", Program{Stmt(ClassJMP|JmpJA, 1), tRetK(1), tRetK(2)}},
		{"store then load", Program{Stmt(ClassST, 15), Stmt(ClassLDX|ModeMEM, 15), tRetA}},
		{"stored on both paths", Program{
			tLdAbs(0),
			Jump(ClassJMP|JmpJEQ|SrcK, 1, 0, 2),
			Stmt(ClassST, 3),
			Stmt(ClassJMP|JmpJA, 1),
			Stmt(ClassSTX, 3),
			Stmt(ClassLD|ModeMEM, 3),
			tRetA,
		}},
		{"shift by 31", Program{Stmt(ClassALU|AluLSH|SrcK, 31), Stmt(ClassALU|AluRSH|SrcK, 31), tRetA}},
		{"division by X, whatever X is", Program{Stmt(ClassALU|AluDIV|SrcX, 0), tRetA}},
		{"non-jumps ignore jt, jf", Program{Jump(ClassLD|ModeIMM, 1, 200, 200), Jump(ClassJMP|JmpJA, 0, 9, 9), Jump(ClassRET|RetA, 0, 7, 7)}},
		{"max length", func() Program {
			p := make(Program, MaxInsns)
			for i := range p {
				p[i] = tRetK(uint32(i))
			}
			return p
		}()},
	} {
		if err := Validate(tc.p); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	long := make(Program, MaxInsns+1)
	for i := range long {
		long[i] = tRetK(0)
	}
	for _, tc := range []struct {
		name   string
		p      Program
		pc     int
		reason string // a substring of the reason
	}{
		{"empty", Program{}, -1, "empty"},
		{"nil", nil, -1, "empty"},
		{"too long", long, -1, "4097 instructions"},
		{"no final ret", Program{tRetK(0), tLdImm(1)}, 1, "last instruction is not a return"},
		{"ret x is no opcode", Program{Stmt(ClassRET|SrcX, 0)}, 0, "unknown opcode 0x0e"},
		{"unknown opcode", Program{Stmt(0x15|0x08|0x40, 0), tRetA}, 0, "unknown opcode"},
		{"opcode above 0xff", Program{Stmt(0x106, 0)}, 0, "unknown opcode 0x106"},
		{"jeq true target out of range", Program{Jump(ClassJMP|JmpJEQ|SrcK, 0, 1, 0), tRetA}, 0, "true target 2"},
		{"jset false target out of range", Program{Jump(ClassJMP|JmpJSET|SrcX, 0, 0, 5), tRetA}, 0, "false target 6"},
		{"jump to itself past the end", Program{tRetA, Jump(ClassJMP|JmpJGT|SrcK, 0, 0, 0)}, 1, "true target 2"},
		{"ja out of range", Program{Stmt(ClassJMP|JmpJA, 1), tRetA}, 0, "target 2"},
		{"ja by 2^32-1", Program{Stmt(ClassJMP|JmpJA, 0xffffffff), tRetA}, 0, "target 4294967296"},
		{"misaligned load", Program{tLdAbs(2), tRetA}, 0, "load at offset 2"},
		{"load at 64", Program{tLdAbs(64), tRetA}, 0, "load at offset 64"},
		{"load of an ancillary offset", Program{tLdAbs(0xfffff000), tRetA}, 0, "load at offset"},
		{"ldh", Program{Stmt(ClassLD|SizeH|ModeABS, 0), tRetA}, 0, "not allowed in a seccomp filter"},
		{"ldb", Program{Stmt(ClassLD|SizeB|ModeABS, 0), tRetA}, 0, "not allowed"},
		{"ld ind", Program{Stmt(ClassLD|SizeW|ModeIND, 0), tRetA}, 0, "not allowed"},
		{"ldxb msh", Program{Stmt(ClassLDX|SizeB|ModeMSH, 0), tRetA}, 0, "not allowed"},
		{"mod", Program{Stmt(ClassALU|AluMOD|SrcK, 3), tRetA}, 0, "(mod) is classic BPF but not allowed"},
		{"mod x", Program{Stmt(ClassALU|AluMOD|SrcX, 0), tRetA}, 0, "not allowed"},
		{"div by constant zero", Program{Stmt(ClassALU|AluDIV|SrcK, 0), tRetA}, 0, "division by constant zero"},
		{"mod by constant zero", Program{Stmt(ClassALU|AluMOD|SrcK, 0), tRetA}, 0, "division by constant zero"},
		{"lsh by 32", Program{Stmt(ClassALU|AluLSH|SrcK, 32), tRetA}, 0, "shift by constant 32"},
		{"rsh by 1000", Program{Stmt(ClassALU|AluRSH|SrcK, 1000), tRetA}, 0, "shift by constant 1000"},
		{"st M[16]", Program{Stmt(ClassST, 16), tRetA}, 0, "scratch memory index 16"},
		{"ldx M[99]", Program{Stmt(ClassLDX|ModeMEM, 99), tRetA}, 0, "scratch memory index 99"},
		{"load of scratch before store", Program{Stmt(ClassLD|ModeMEM, 0), tRetA}, 0, "load of M[0]"},
		{"load of another cell than stored", Program{Stmt(ClassST, 1), Stmt(ClassLDX|ModeMEM, 2), tRetA}, 1, "load of M[2]"},
		{"stored on one path only", Program{
			tLdAbs(0),
			Jump(ClassJMP|JmpJEQ|SrcK, 1, 0, 1),
			Stmt(ClassST, 3),
			Stmt(ClassLD|ModeMEM, 3),
			tRetA,
		}, 3, "load of M[3]"},
		{"load in unreachable code", Program{tRetK(0), Stmt(ClassLD|ModeMEM, 0), tRetA}, 1, "load of M[0]"},
		// The kernel does not reset its state after a return: pc 5 is
		// reached only from pc 3, after the store, but the kernel also
		// flows the state of pc 4 (no store) into it, and refuses.
		{"kernel quirk: state flows past a ret", Program{
			tLdAbs(0),
			Jump(ClassJMP|JmpJEQ|SrcK, 1, 0, 2), // 2 or 4
			Stmt(ClassST, 0),
			Stmt(ClassJMP|JmpJA, 1), // 5
			tRetK(0),
			Stmt(ClassLD|ModeMEM, 0),
			tRetA,
		}, 5, "load of M[0]"},
	} {
		err := Validate(tc.p)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("%s: error %T is not a *ValidationError: %v", tc.name, err, err)
			continue
		}
		if verr.PC != tc.pc || !strings.Contains(verr.Reason, tc.reason) {
			t.Errorf("%s: got pc %d %q, want pc %d and a reason containing %q", tc.name, verr.PC, verr.Reason, tc.pc, tc.reason)
		}
		if tc.pc >= 0 && !strings.Contains(err.Error(), "pc ") {
			t.Errorf("%s: message %q does not name the pc", tc.name, err)
		}
	}
}

// The same program with the ret before the load moved out of the way is
// accepted: the refusal above is the kernel's quirk, not a real path.
func TestValidateQuirkCounterpart(t *testing.T) {
	p := Program{
		tLdAbs(0),
		Jump(ClassJMP|JmpJEQ|SrcK, 1, 0, 3), // 2 or 5
		Stmt(ClassST, 0),
		Stmt(ClassLD|ModeMEM, 0),
		tRetA,
		tRetK(0),
	}
	if err := Validate(p); err != nil {
		t.Fatal(err)
	}
}

// seccompOpcodes is seccomp_check_filter's list, written out independently
// of the table in check.go.
var seccompOpcodes = []uint16{
	0x20, 0x80, 0x81, // ld [k], ld len, ldx len
	0x06, 0x16, // ret k, ret a
	0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, // add, sub, mul, div
	0x54, 0x5c, 0x44, 0x4c, 0xa4, 0xac, // and, or, xor
	0x64, 0x6c, 0x74, 0x7c, 0x84, // lsh, rsh, neg
	0x00, 0x01, 0x07, 0x87, 0x60, 0x61, 0x02, 0x03, // ld/ldx imm, tax, txa, ld/ldx mem, st, stx
	0x05, 0x15, 0x1d, 0x35, 0x3d, 0x25, 0x2d, 0x45, 0x4d, // ja, jeq, jge, jgt, jset
}

// Every 16-bit opcode is classified as the kernel does: those in
// seccompOpcodes pass Validate in a harmless program, all others fail.
func TestValidateOpcodeSet(t *testing.T) {
	allowed := map[uint16]bool{}
	for _, c := range seccompOpcodes {
		allowed[c] = true
	}
	for code := 0; code <= 0xffff; code++ {
		// K 4 is a valid load offset, a non-zero divisor, a small shift
		// and a valid scratch index; the leading st makes M[4] loadable.
		p := Program{Stmt(ClassST, 4), Stmt(ClassSTX, 4), Jump(uint16(code), 4, 0, 0), tRetA}
		if code == ClassJMP|JmpJA {
			p[2].K = 0
		}
		err := Validate(p)
		if allowed[uint16(code)] != (err == nil) {
			t.Errorf("opcode %#04x: allowed %v, Validate says %v", code, allowed[uint16(code)], err)
		}
	}
}
