package bpf

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// exampleProgram allows execve only with a zero high word of arg0 and
// everything below 0x40000000 on x86_64.
func exampleProgram(order binary.ByteOrder) Program {
	return Program{
		Stmt(ClassLD|SizeW|ModeABS, OffArch),
		Jump(ClassJMP|JmpJEQ|SrcK, 0xc000003e, 0, 8),
		Stmt(ClassLD|SizeW|ModeABS, OffNr),
		Jump(ClassJMP|JmpJGE|SrcK, 0x40000000, 6, 0),
		Jump(ClassJMP|JmpJEQ|SrcK, 59, 0, 4),
		Stmt(ClassLD|SizeW|ModeABS, ArgHigh(0, order)),
		Jump(ClassJMP|JmpJEQ|SrcK, 0, 1, 0),
		Stmt(ClassRET|RetK, 0x00050001),
		Stmt(ClassRET|RetK, 0x7fff0000),
		Stmt(ClassRET|RetK, 0x7fff0000),
		Stmt(ClassRET|RetK, 0x80000000),
	}
}

func ExampleDisassemble() {
	fmt.Print(Disassemble(exampleProgram(binary.LittleEndian), binary.LittleEndian, nil))
	// Output:
	// 0000: ld   [4]  ; arch
	// 0001: jeq  #0xc000003e, 0002, 0010
	// 0002: ld   [0]  ; nr
	// 0003: jge  #0x40000000, 0010, 0004
	// 0004: jeq  #0x3b, 0005, 0009
	// 0005: ld   [20]  ; arg0 high
	// 0006: jeq  #0x0, 0008, 0007
	// 0007: ret  #0x50001  ; ERRNO(1)
	// 0008: ret  #0x7fff0000  ; ALLOW
	// 0009: ret  #0x7fff0000  ; ALLOW
	// 0010: ret  #0x80000000  ; KILL_PROCESS
}

// On a big-endian machine the high word of arg0 comes first.
func ExampleDisassemble_bigEndian() {
	fmt.Print(Disassemble(exampleProgram(binary.BigEndian)[5:6], binary.BigEndian, nil))
	// Output:
	// 0000: ld   [16]  ; arg0 high
}

// A note replaces the default comment of the lines it speaks for.
func ExampleDisassemble_note() {
	names := map[uint32]string{59: "execve"}
	note := func(pc int, in Insn) string {
		if in.Code == ClassJMP|JmpJEQ|SrcK && pc > 2 {
			return names[in.K]
		}
		if pc == 10 {
			return "not x86_64, or an x32 syscall"
		}
		return ""
	}
	fmt.Print(Disassemble(exampleProgram(binary.LittleEndian), binary.LittleEndian, note))
	// Output:
	// 0000: ld   [4]  ; arch
	// 0001: jeq  #0xc000003e, 0002, 0010
	// 0002: ld   [0]  ; nr
	// 0003: jge  #0x40000000, 0010, 0004
	// 0004: jeq  #0x3b, 0005, 0009  ; execve
	// 0005: ld   [20]  ; arg0 high
	// 0006: jeq  #0x0, 0008, 0007
	// 0007: ret  #0x50001  ; ERRNO(1)
	// 0008: ret  #0x7fff0000  ; ALLOW
	// 0009: ret  #0x7fff0000  ; ALLOW
	// 0010: ret  #0x80000000  ; not x86_64, or an x32 syscall
}

func ExampleInsn_String() {
	fmt.Println(Jump(ClassJMP|JmpJEQ|SrcK, 59, 0, 4))
	fmt.Println(Stmt(ClassJMP|JmpJA, 7))
	fmt.Println(Stmt(ClassALU|AluAND|SrcK, 0xffff))
	fmt.Println(Stmt(ClassMISC|MiscTAX, 0))
	// Output:
	// jeq  #0x3b, +0, +4
	// ja   +7
	// and  #0xffff
	// tax
}

func ExampleDescribeRet() {
	for _, k := range []uint32{0x7fff0000, 0x80000000, 0, 0x30005, 0x50001, 0x7ffc0000, 0x7ff00009, 0x7fc00000} {
		fmt.Println(DescribeRet(k))
	}
	// Output:
	// ALLOW
	// KILL_PROCESS
	// KILL_THREAD
	// TRAP(5)
	// ERRNO(1)
	// LOG
	// TRACE(9)
	// USER_NOTIF
}

func TestDescribeRetOddValues(t *testing.T) {
	for k, want := range map[uint32]string{
		0x7fff0005: "ALLOW(data=0x5)",
		0x8000ffff: "KILL_PROCESS(data=0xffff)",
		0x00000001: "KILL_THREAD(data=0x1)",
		0x0005ffff: "ERRNO(65535)",
		0x12340000: "UNKNOWN(0x12340000)",
		0x00010000: "UNKNOWN(0x00010000)",
		0xffff0000: "UNKNOWN(0xffff0000)",
	} {
		if got := DescribeRet(k); got != want {
			t.Errorf("DescribeRet(%#x) = %q, want %q", k, got, want)
		}
	}
}

// Every opcode the kernel knows, in both forms.
func TestInsnSyntax(t *testing.T) {
	for _, tc := range []struct {
		in        Insn
		rel, disp string // String, and Disassemble at pc 10 without the pc
	}{
		{Stmt(ClassLD|SizeW|ModeABS, 16), "ld   [16]", ""},
		{Stmt(ClassLD|SizeH|ModeABS, 12), "ldh  [12]", ""},
		{Stmt(ClassLD|SizeB|ModeABS, 23), "ldb  [23]", ""},
		{Stmt(ClassLD|SizeW|ModeIND, 4), "ld   [x + 4]", ""},
		{Stmt(ClassLD|SizeH|ModeIND, 4), "ldh  [x + 4]", ""},
		{Stmt(ClassLD|SizeB|ModeIND, 4), "ldb  [x + 4]", ""},
		{Stmt(ClassLD|SizeW|ModeLEN, 0), "ld   #len", ""},
		{Stmt(ClassLD|ModeIMM, 0), "ld   #0x0", ""},
		{Stmt(ClassLD|ModeMEM, 3), "ld   M[3]", ""},
		{Stmt(ClassLDX|SizeW|ModeLEN, 0), "ldx  #len", ""},
		{Stmt(ClassLDX|SizeB|ModeMSH, 14), "ldxb 4*([14]&0xf)", ""},
		{Stmt(ClassLDX|ModeIMM, 0xff), "ldx  #0xff", ""},
		{Stmt(ClassLDX|ModeMEM, 15), "ldx  M[15]", ""},
		{Stmt(ClassST, 1), "st   M[1]", ""},
		{Stmt(ClassSTX, 2), "stx  M[2]", ""},
		{Stmt(ClassALU|AluADD|SrcK, 1), "add  #0x1", ""},
		{Stmt(ClassALU|AluSUB|SrcX, 0), "sub  x", ""},
		{Stmt(ClassALU|AluMUL|SrcK, 3), "mul  #0x3", ""},
		{Stmt(ClassALU|AluDIV|SrcX, 0), "div  x", ""},
		{Stmt(ClassALU|AluMOD|SrcK, 7), "mod  #0x7", ""},
		{Stmt(ClassALU|AluOR|SrcK, 8), "or   #0x8", ""},
		{Stmt(ClassALU|AluXOR|SrcX, 0), "xor  x", ""},
		{Stmt(ClassALU|AluLSH|SrcK, 2), "lsh  #0x2", ""},
		{Stmt(ClassALU|AluRSH|SrcX, 0), "rsh  x", ""},
		{Stmt(ClassALU|AluNEG, 0), "neg", ""},
		{Stmt(ClassMISC|MiscTXA, 0), "txa", ""},
		{Stmt(ClassRET|RetA, 0), "ret  a", ""},
		{Stmt(ClassRET|RetK, 0x7ffc0000), "ret  #0x7ffc0000", ""},
		{Stmt(ClassJMP|JmpJA, 0), "ja   +0", "ja   0011"},
		{Stmt(ClassJMP|JmpJA, 0xffffffff), "ja   +4294967295", "ja   4294967306"},
		{Jump(ClassJMP|JmpJGT|SrcK, 5, 255, 0), "jgt  #0x5, +255, +0", "jgt  #0x5, 0266, 0011"},
		{Jump(ClassJMP|JmpJGE|SrcX, 0, 1, 2), "jge  x, +1, +2", "jge  x, 0012, 0013"},
		{Jump(ClassJMP|JmpJSET|SrcK, 0x80, 0, 0), "jset #0x80, +0, +0", "jset #0x80, 0011, 0011"},
		{Jump(ClassJMP|JmpJEQ|SrcX, 0, 3, 4), "jeq  x, +3, +4", "jeq  x, 0014, 0015"},
		{Jump(0x5d, 9, 1, 2), "??? code=0x5d jt=1 jf=2 k=0x9", ""},
		{Stmt(0xffff, 0), "??? code=0xffff jt=0 jf=0 k=0x0", ""},
	} {
		if got := tc.in.String(); got != tc.rel {
			t.Errorf("%#v.String() = %q, want %q", tc.in, got, tc.rel)
		}
		disp := tc.disp
		if disp == "" {
			disp = tc.rel
		}
		p := make(Program, 11)
		p[10] = tc.in
		line := strings.Split(Disassemble(p, nil, func(int, Insn) string { return "-" }), "\n")[10]
		if want := "0010: " + disp + "  ; -"; line != want {
			t.Errorf("Disassemble line %q, want %q", line, want)
		}
	}
}

func TestDataField(t *testing.T) {
	for _, tc := range []struct {
		off    uint32
		le, be string
	}{
		{0, "nr", "nr"}, {4, "arch", "arch"},
		{8, "ip low", "ip high"}, {12, "ip high", "ip low"},
		{16, "arg0 low", "arg0 high"}, {20, "arg0 high", "arg0 low"},
		{56, "arg5 low", "arg5 high"}, {60, "arg5 high", "arg5 low"},
		{2, "", ""}, {64, "", ""}, {0xfffff000, "", ""},
	} {
		if got := DataField(tc.off, binary.LittleEndian); got != tc.le {
			t.Errorf("DataField(%d, LE) = %q, want %q", tc.off, got, tc.le)
		}
		if got := DataField(tc.off, binary.BigEndian); got != tc.be {
			t.Errorf("DataField(%d, BE) = %q, want %q", tc.off, got, tc.be)
		}
	}
	if got := DataField(16, nil); got != "" {
		t.Errorf("DataField(16, nil) = %q, want \"\"", got)
	}
	if got := DataField(4, nil); got != "arch" {
		t.Errorf("DataField(4, nil) = %q, want arch", got)
	}
	// The disassembler's arg names agree with ArgLow and ArgHigh.
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for i := range 6 {
			if got, want := DataField(ArgLow(i, order), order), fmt.Sprintf("arg%d low", i); got != want {
				t.Errorf("%v: DataField(ArgLow(%d)) = %q", order, i, got)
			}
			if got, want := DataField(ArgHigh(i, order), order), fmt.Sprintf("arg%d high", i); got != want {
				t.Errorf("%v: DataField(ArgHigh(%d)) = %q", order, i, got)
			}
		}
	}
}

func TestDisassembleEmpty(t *testing.T) {
	if got := Disassemble(nil, nil, nil); got != "" {
		t.Errorf("empty program: %q", got)
	}
}
