package bpf

import (
	"fmt"
)

// MemWords is BPF_MEMWORDS: the number of 32-bit scratch memory cells M[].
const MemWords = 16

// ValidationError says why the kernel would refuse a program: the
// instruction at PC (or the whole program when PC is -1) and the reason.
type ValidationError struct {
	PC     int
	Reason string
}

// Error says "invalid seccomp filter: pc N: reason".
func (e *ValidationError) Error() string {
	if e.PC < 0 {
		return "invalid seccomp filter: " + e.Reason
	}
	return fmt.Sprintf("invalid seccomp filter: pc %d: %s", e.PC, e.Reason)
}

// cbpfOperand is the shape of an instruction's operand, for the
// disassembler.
type cbpfOperand uint8

const (
	cbpfOpndNone  cbpfOperand = iota // tax, txa, neg
	cbpfOpndImm                      // #0x...
	cbpfOpndAbs                      // [k]
	cbpfOpndInd                      // [x + k]
	cbpfOpndMem                      // M[k]
	cbpfOpndLen                      // #len
	cbpfOpndMsh                      // 4*([k]&0xf)
	cbpfOpndX                        // x
	cbpfOpndA                        // a
	cbpfOpndJA                       // ja target
	cbpfOpndCondK                    // #k, jt, jf
	cbpfOpndCondX                    // x, jt, jf
)

// cbpfOpInfo describes one classic BPF opcode.
type cbpfOpInfo struct {
	known   bool // accepted by the kernel's chk_code_allowed
	seccomp bool // also accepted by seccomp_check_filter
	name    string
	operand cbpfOperand
}

// cbpfOps is indexed by opcode; every opcode the kernel knows is below 0x100.
var cbpfOps = func() [0x100]cbpfOpInfo {
	var t [0x100]cbpfOpInfo
	set := func(code uint16, seccomp bool, name string, o cbpfOperand) {
		t[code] = cbpfOpInfo{known: true, seccomp: seccomp, name: name, operand: o}
	}
	alu := []struct {
		op      uint16
		name    string
		seccomp bool
	}{
		{AluADD, "add", true}, {AluSUB, "sub", true}, {AluMUL, "mul", true},
		{AluDIV, "div", true}, {AluMOD, "mod", false}, {AluAND, "and", true},
		{AluOR, "or", true}, {AluXOR, "xor", true}, {AluLSH, "lsh", true},
		{AluRSH, "rsh", true},
	}
	for _, a := range alu {
		set(ClassALU|a.op|SrcK, a.seccomp, a.name, cbpfOpndImm)
		set(ClassALU|a.op|SrcX, a.seccomp, a.name, cbpfOpndX)
	}
	set(ClassALU|AluNEG, true, "neg", cbpfOpndNone)

	set(ClassLD|SizeW|ModeABS, true, "ld", cbpfOpndAbs)
	set(ClassLD|SizeH|ModeABS, false, "ldh", cbpfOpndAbs)
	set(ClassLD|SizeB|ModeABS, false, "ldb", cbpfOpndAbs)
	set(ClassLD|SizeW|ModeLEN, true, "ld", cbpfOpndLen)
	set(ClassLD|SizeW|ModeIND, false, "ld", cbpfOpndInd)
	set(ClassLD|SizeH|ModeIND, false, "ldh", cbpfOpndInd)
	set(ClassLD|SizeB|ModeIND, false, "ldb", cbpfOpndInd)
	set(ClassLD|ModeIMM, true, "ld", cbpfOpndImm)
	set(ClassLD|ModeMEM, true, "ld", cbpfOpndMem)
	set(ClassLDX|SizeW|ModeLEN, true, "ldx", cbpfOpndLen)
	set(ClassLDX|SizeB|ModeMSH, false, "ldxb", cbpfOpndMsh)
	set(ClassLDX|ModeIMM, true, "ldx", cbpfOpndImm)
	set(ClassLDX|ModeMEM, true, "ldx", cbpfOpndMem)

	set(ClassST, true, "st", cbpfOpndMem)
	set(ClassSTX, true, "stx", cbpfOpndMem)

	set(ClassMISC|MiscTAX, true, "tax", cbpfOpndNone)
	set(ClassMISC|MiscTXA, true, "txa", cbpfOpndNone)

	set(ClassRET|RetK, true, "ret", cbpfOpndImm)
	set(ClassRET|RetA, true, "ret", cbpfOpndA)

	set(ClassJMP|JmpJA, true, "ja", cbpfOpndJA)
	for _, j := range []struct {
		op   uint16
		name string
	}{{JmpJEQ, "jeq"}, {JmpJGT, "jgt"}, {JmpJGE, "jge"}, {JmpJSET, "jset"}} {
		set(ClassJMP|j.op|SrcK, true, j.name, cbpfOpndCondK)
		set(ClassJMP|j.op|SrcX, true, j.name, cbpfOpndCondX)
	}
	return t
}()

// cbpfLookup returns what is known of an opcode; ok is false for opcodes the
// kernel does not know at all.
func cbpfLookup(code uint16) (cbpfOpInfo, bool) {
	if int(code) >= len(cbpfOps) || !cbpfOps[code].known {
		return cbpfOpInfo{}, false
	}
	return cbpfOps[code], true
}

// Validate reports whether the kernel would accept p as a seccomp filter
// (seccomp(SECCOMP_SET_MODE_FILTER) or prctl(PR_SET_SECCOMP)), by applying
// the checks the kernel applies:
//
//   - bpf_check_basics_ok: 1 to MaxInsns instructions;
//   - bpf_check_classic (net/core/filter.c): every opcode known; no division
//     by a constant zero; constant shifts below 32; scratch memory indexes
//     below 16; jump targets inside the program (Jt/Jf for conditional
//     jumps, K for BPF_JA); the last instruction a return;
//   - check_load_and_stores (net/core/filter.c): every M[] cell is stored
//     before it is loaded, along every path, as the kernel computes it;
//   - seccomp_check_filter (kernel/seccomp.c): only the instructions that
//     make sense on struct seccomp_data, in particular only 32-bit absolute
//     loads at a 4-byte aligned offset below 64 (and loads of the length,
//     which is 64).
//
// The error is a *ValidationError naming the first offending instruction.
// Where the kernel would refuse a program for several reasons, Validate may
// name a different one than the kernel would have met first; it accepts and
// refuses exactly the same programs.
func Validate(p Program) error {
	if err := validate(p); err != nil {
		return err
	}
	return nil
}

// validate is Validate returning the concrete type, so that callers within
// the package need no type assertion.
func validate(p Program) *ValidationError {
	n := len(p)
	if n == 0 {
		return &ValidationError{PC: -1, Reason: "empty program"}
	}
	if n > MaxInsns {
		return &ValidationError{PC: -1, Reason: fmt.Sprintf("%d instructions, more than the kernel's limit of %d", n, MaxInsns)}
	}
	for pc, in := range p {
		if err := checkInsn(p, pc, in); err != nil {
			return err
		}
	}
	if last := p[n-1].Code; last != ClassRET|RetK && last != ClassRET|RetA {
		return &ValidationError{PC: n - 1, Reason: "the last instruction is not a return"}
	}
	return checkLoadsAndStores(p)
}

func checkInsn(p Program, pc int, in Insn) *ValidationError {
	bad := func(format string, args ...any) *ValidationError {
		return &ValidationError{PC: pc, Reason: fmt.Sprintf(format, args...)}
	}
	info, ok := cbpfLookup(in.Code)
	if !ok {
		return bad("unknown opcode 0x%02x", in.Code)
	}
	n := len(p)
	// The checks of bpf_check_classic.
	switch in.Code {
	case ClassALU | AluDIV | SrcK, ClassALU | AluMOD | SrcK:
		if in.K == 0 {
			return bad("division by constant zero")
		}
	case ClassALU | AluLSH | SrcK, ClassALU | AluRSH | SrcK:
		if in.K >= 32 {
			return bad("shift by constant %d, not below 32", in.K)
		}
	case ClassLD | ModeMEM, ClassLDX | ModeMEM, ClassST, ClassSTX:
		if in.K >= MemWords {
			return bad("scratch memory index %d, not below %d", in.K, MemWords)
		}
	case ClassJMP | JmpJA:
		if uint64(in.K) >= uint64(n-pc-1) {
			return bad("ja +%d: target %d is outside the %d-instruction program", in.K, uint64(pc)+1+uint64(in.K), n)
		}
	default:
		if info.operand == cbpfOpndCondK || info.operand == cbpfOpndCondX {
			if t := pc + 1 + int(in.Jt); t >= n {
				return bad("%s: true target %d (+%d) is outside the %d-instruction program", info.name, t, in.Jt, n)
			}
			if f := pc + 1 + int(in.Jf); f >= n {
				return bad("%s: false target %d (+%d) is outside the %d-instruction program", info.name, f, in.Jf, n)
			}
		}
	}
	// The checks of seccomp_check_filter.
	if !info.seccomp {
		return bad("opcode 0x%02x (%s) is classic BPF but not allowed in a seccomp filter", in.Code, info.name)
	}
	if in.Code == ClassLD|SizeW|ModeABS && (in.K >= DataSize || in.K&3 != 0) {
		return bad("load at offset %d: not a 4-byte aligned offset inside the %d-byte seccomp_data", in.K, DataSize)
	}
	return nil
}

// checkLoadsAndStores is the kernel's check_load_and_stores, line for line:
// it walks the program once in order, tracking the set of stored cells, and
// merges that set into the targets of jumps. Like the kernel, it does not
// reset the set after a return, so an instruction that follows a return
// and is reached only by jumps is also checked against the state before
// the return; this is stricter than a path analysis, and it is what the
// kernel does.
func checkLoadsAndStores(p Program) *ValidationError {
	var masks [MaxInsns]uint16
	for i := range p {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, in := range p {
		valid &= masks[pc]
		switch in.Code {
		case ClassST, ClassSTX:
			valid |= 1 << in.K
		case ClassLD | ModeMEM, ClassLDX | ModeMEM:
			if valid&(1<<in.K) == 0 {
				return &ValidationError{PC: pc, Reason: fmt.Sprintf("load of M[%d], which may not have been stored on every path here", in.K)}
			}
		case ClassJMP | JmpJA:
			masks[pc+1+int(in.K)] &= valid
			valid = 0xffff
		case ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJEQ | SrcX,
			ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGE | SrcX,
			ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJGT | SrcX,
			ClassJMP | JmpJSET | SrcK, ClassJMP | JmpJSET | SrcX:
			masks[pc+1+int(in.Jt)] &= valid
			masks[pc+1+int(in.Jf)] &= valid
			valid = 0xffff
		}
	}
	return nil
}
