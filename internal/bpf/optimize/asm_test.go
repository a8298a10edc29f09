package optimize

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// asm assembles the tests' programs: one instruction a line in the syntax
// of bpf.Disassemble without the pc, jump targets absolute:
//
//	ld [16]
//	jeq #0x2, 3, 4
//	ja 4
//	ret allow
//
// Returns may name their action: allow, kill, log, errno. Lines copied
// from bpf.Disassemble, with their pc and comment, are read as well.
func asm(t testing.TB, text string) bpf.Program {
	t.Helper()
	var p bpf.Program
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		// Lines pasted from bpf.Disassemble keep their pc and comment.
		line, _, _ = strings.Cut(line, " ;")
		if i := strings.Index(line, ": "); i == 4 {
			line = line[i+2:]
		}
		line = strings.TrimSpace(line)
		in, err := asmLine(line, len(p))
		if err != nil {
			t.Fatalf("asm %q: %v", line, err)
		}
		p = append(p, in)
	}
	return p
}

var asmRets = map[string]uint32{
	"allow": bpf.RetAllow, "kill": bpf.RetKillProcess, "log": bpf.RetLog, "errno": bpf.RetErrno | 1,
}

var asmJumps = map[string]uint16{
	"jeq": bpf.JmpJEQ, "jgt": bpf.JmpJGT, "jge": bpf.JmpJGE, "jset": bpf.JmpJSET,
}

var asmALU = map[string]uint16{"add": bpf.AluADD, "and": bpf.AluAND, "or": bpf.AluOR, "rsh": bpf.AluRSH}

func asmLine(line string, pc int) (bpf.Insn, error) {
	op, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	args := strings.Split(rest, ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	switch {
	case op == "ld" && strings.HasPrefix(rest, "["):
		k, err := asmNum(strings.Trim(rest, "[]"))
		return bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, k), err
	case op == "ld" && strings.HasPrefix(rest, "M["):
		k, err := asmNum(strings.Trim(rest, "M[]"))
		return bpf.Stmt(bpf.ClassLD|bpf.ModeMEM, k), err
	case op == "ld" || op == "ldx":
		k, err := asmNum(strings.TrimPrefix(rest, "#"))
		code := uint16(bpf.ClassLD | bpf.ModeIMM)
		if op == "ldx" {
			code = bpf.ClassLDX | bpf.ModeIMM
		}
		return bpf.Stmt(code, k), err
	case op == "st":
		k, err := asmNum(strings.Trim(rest, "M[]"))
		return bpf.Stmt(bpf.ClassST, k), err
	case op == "tax":
		return bpf.Stmt(bpf.ClassMISC|bpf.MiscTAX, 0), nil
	case op == "txa":
		return bpf.Stmt(bpf.ClassMISC|bpf.MiscTXA, 0), nil
	case asmALU[op] != 0 || op == "add":
		k, err := asmNum(strings.TrimPrefix(rest, "#"))
		return bpf.Stmt(bpf.ClassALU|asmALU[op], k), err
	case op == "ret" && rest == "a":
		return bpf.Stmt(bpf.ClassRET|bpf.RetA, 0), nil
	case op == "ret":
		if k, ok := asmRets[rest]; ok {
			return bpf.Stmt(bpf.ClassRET|bpf.RetK, k), nil
		}
		k, err := asmNum(strings.TrimPrefix(rest, "#"))
		return bpf.Stmt(bpf.ClassRET|bpf.RetK, k), err
	case op == "ja":
		to, err := strconv.Atoi(rest)
		return bpf.Stmt(bpf.ClassJMP|bpf.JmpJA, uint32(to-pc-1)), err
	case op == "jeq" || op == "jgt" || op == "jge" || op == "jset":
		return asmCond(asmJumps[op], args, pc)
	}
	return bpf.Insn{}, fmt.Errorf("unknown instruction")
}

func asmCond(jmp uint16, args []string, pc int) (bpf.Insn, error) {
	if len(args) != 3 {
		return bpf.Insn{}, fmt.Errorf("want 3 operands")
	}
	code := bpf.ClassJMP | jmp
	var k uint32
	var err error
	if args[0] == "x" {
		code |= bpf.SrcX
	} else if k, err = asmNum(strings.TrimPrefix(args[0], "#")); err != nil {
		return bpf.Insn{}, err
	}
	jt, err1 := strconv.Atoi(args[1])
	jf, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || jt <= pc || jf <= pc {
		return bpf.Insn{}, fmt.Errorf("bad targets")
	}
	return bpf.Jump(code, k, uint8(jt-pc-1), uint8(jf-pc-1)), nil
}

func asmNum(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	return uint32(v), err
}

// dis is a program's disassembly for failure messages.
func dis(p bpf.Program) string {
	return bpf.Disassemble(p, nil, nil)
}
