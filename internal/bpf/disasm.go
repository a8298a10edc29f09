package bpf

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// SECCOMP_RET_* actions and masks (linux/seccomp.h): what a seccomp
// filter returns.
const (
	RetKillProcess uint32 = 0x80000000
	RetKillThread  uint32 = 0x00000000
	RetTrap        uint32 = 0x00030000
	RetErrno       uint32 = 0x00050000
	RetUserNotif   uint32 = 0x7fc00000
	RetTrace       uint32 = 0x7ff00000
	RetLog         uint32 = 0x7ffc0000
	RetAllow       uint32 = 0x7fff0000
	RetActionFull  uint32 = 0xffff0000
	RetData        uint32 = 0x0000ffff
)

// DescribeRet names a seccomp filter's return value: ALLOW, LOG,
// USER_NOTIF, KILL_THREAD and KILL_PROCESS, or TRAP(n), ERRNO(n) and
// TRACE(n) with their 16-bit data in decimal. Data on an action that
// ignores it is shown as e.g. ALLOW(data=0x5). An action the kernel does
// not know (which it treats as KILL_PROCESS) is shown as UNKNOWN(0x...).
// ERRNO(n) shows n as written; the kernel caps it at 4095.
func DescribeRet(k uint32) string {
	action, data := k&RetActionFull, k&RetData
	withData := func(name string) string {
		return fmt.Sprintf("%s(%d)", name, data)
	}
	ignoring := func(name string) string {
		if data == 0 {
			return name
		}
		return fmt.Sprintf("%s(data=%#x)", name, data)
	}
	switch action {
	case RetAllow:
		return ignoring("ALLOW")
	case RetLog:
		return ignoring("LOG")
	case RetUserNotif:
		return ignoring("USER_NOTIF")
	case RetKillThread:
		return ignoring("KILL_THREAD")
	case RetKillProcess:
		return ignoring("KILL_PROCESS")
	case RetTrap:
		return withData("TRAP")
	case RetErrno:
		return withData("ERRNO")
	case RetTrace:
		return withData("TRACE")
	}
	return fmt.Sprintf("UNKNOWN(0x%08x)", k)
}

// String is the instruction in the syntax of Disassemble, without its pc
// and with jump offsets relative, as in "jeq  #0x3b, +0, +4" and "ja   +7".
func (in Insn) String() string { return formatInsn(in, -1) }

// Disassemble returns p in the conventional classic BPF syntax (that of
// the kernel's bpf_asm and bpf_dbg, and close to tcpdump -d), one line per
// instruction, each starting with its pc in four decimal digits; jump
// targets are absolute pcs:
//
//	0000: ld   [4]  ; arch
//	0001: jeq  #0xc000003e, 0002, 0012
//	0002: ld   [0]  ; nr
//	0003: jge  #0x40000000, 0012, 0004
//	0004: ret  #0x7fff0000  ; ALLOW
//
// Constants are in hex, offsets and scratch indexes in decimal. A line may
// end with a comment "  ; ...": note's result when note is not nil and
// returns a non-empty string, or else a default, which names the
// seccomp_data field of an absolute load (nr, arch, ip low, arg0 high,
// ...) and the action of a constant return (see DescribeRet). Which word
// of a 64-bit field a load reads depends on the byte order; when order is
// nil, the words of ip and the arguments are not named. Disassemble accepts
// any program, valid or not; an unknown opcode is shown as "??? code=...".
func Disassemble(p Program, order binary.ByteOrder, note func(pc int, in Insn) string) string {
	var b strings.Builder
	for pc, in := range p {
		fmt.Fprintf(&b, "%04d: %s", pc, formatInsn(in, pc))
		var c string
		if note != nil {
			c = note(pc, in)
		}
		if c == "" {
			c = defaultNote(in, order)
		}
		if c != "" {
			b.WriteString("  ; ")
			b.WriteString(c)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// defaultNote is Disassemble's comment for a line note leaves empty.
func defaultNote(in Insn, order binary.ByteOrder) string {
	switch in.Code {
	case ClassRET | RetK:
		return DescribeRet(in.K)
	case ClassLD | SizeW | ModeABS:
		return DataField(in.K, order)
	}
	return ""
}

// DataField names the 32-bit word of struct seccomp_data at offset off on a
// machine of the given byte order: "nr", "arch", "ip low", "ip high",
// "arg0 low" ... "arg5 high". It returns "" for an offset that is not a
// 4-byte aligned offset below DataSize, and, when order is nil or neither
// little nor big endian, for the words of 64-bit fields.
func DataField(off uint32, order binary.ByteOrder) string {
	if off >= DataSize || off%4 != 0 {
		return ""
	}
	switch off {
	case OffNr:
		return "nr"
	case OffArch:
		return "arch"
	}
	big, err := isBigEndian(order)
	if err != nil {
		return ""
	}
	// The word at the lower address is the low half on a little-endian
	// machine.
	half := "low"
	if (off%8 == 0) == big {
		half = "high"
	}
	if off < OffArgs {
		return "ip " + half
	}
	return fmt.Sprintf("arg%d %s", (off-OffArgs)/8, half)
}

// formatInsn spells one instruction; jump targets are absolute when pc >= 0
// and relative ("+n") when pc < 0.
func formatInsn(in Insn, pc int) string {
	info, ok := cbpfLookup(in.Code)
	if !ok {
		return fmt.Sprintf("??? code=0x%02x jt=%d jf=%d k=%#x", in.Code, in.Jt, in.Jf, in.K)
	}
	target := func(off uint32) string {
		if pc < 0 {
			return fmt.Sprintf("+%d", off)
		}
		return fmt.Sprintf("%04d", uint64(pc)+1+uint64(off))
	}
	var operand string
	switch info.operand {
	case cbpfOpndNone:
		return info.name
	case cbpfOpndImm:
		operand = fmt.Sprintf("#%#x", in.K)
	case cbpfOpndAbs:
		operand = fmt.Sprintf("[%d]", in.K)
	case cbpfOpndInd:
		operand = fmt.Sprintf("[x + %d]", in.K)
	case cbpfOpndMem:
		operand = fmt.Sprintf("M[%d]", in.K)
	case cbpfOpndLen:
		operand = "#len"
	case cbpfOpndMsh:
		operand = fmt.Sprintf("4*([%d]&0xf)", in.K)
	case cbpfOpndX:
		operand = "x"
	case cbpfOpndA:
		operand = "a"
	case cbpfOpndJA:
		operand = target(in.K)
	case cbpfOpndCondK:
		operand = fmt.Sprintf("#%#x, %s, %s", in.K, target(uint32(in.Jt)), target(uint32(in.Jf)))
	case cbpfOpndCondX:
		operand = fmt.Sprintf("x, %s, %s", target(uint32(in.Jt)), target(uint32(in.Jf)))
	}
	return fmt.Sprintf("%-4s %s", info.name, operand)
}
