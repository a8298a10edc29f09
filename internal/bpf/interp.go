package bpf

import (
	"encoding/binary"
	"fmt"
)

// Result is the outcome of running a program over one seccomp_data.
type Result struct {
	Ret      uint32 // the SECCOMP_RET_* value
	Executed int    // instructions executed, the return included
	Path     []int  // pcs executed, in order (only when Trace is set)
}

// Options control a run.
type Options struct {
	// Trace records the executed pcs in Result.Path. It costs one
	// allocation per run; without it a run allocates nothing.
	Trace bool
}

// VM runs one validated program as the kernel runs a seccomp filter.
//
// The semantics are those of classic BPF as the kernel executes it after
// converting it to eBPF (bpf_convert_filter in net/core/filter.c):
//
//   - A and X are 32-bit, both 0 at the start; M[0..15] are 32-bit scratch
//     cells, which a valid program never reads before writing.
//   - ld [k] reads the 32-bit word at offset k of seccomp_data in the
//     machine's byte order; ld #len and ldx #len load 64.
//   - ALU operations are 32-bit and wrap around; jumps compare unsigned.
//   - div x with X == 0 ends the program, which returns 0
//     (SECCOMP_RET_KILL_THREAD), as the conversion arranges.
//   - lsh x and rsh x shift by X mod 32, as the kernel's interpreter does
//     ((u32) SRC & 31 in kernel/bpf/core.c since 5.13) and as the x86-64,
//     i386, arm64 and riscv64 JITs do through their shift instructions.
//     Beware that on some JITs a shift by 32..63 yields 0 instead (ppc64's
//     slw/srw, s390x's sll/srl, and arm's register shifts, which use more
//     than 5 bits of the count); a program that shifts by X >= 32 does not
//     mean the same thing on every machine.
//   - Constant shifts by 32 or more, division by a constant 0, and every
//     instruction seccomp refuses never reach the VM: NewVM validates.
//
// A VM is safe for concurrent use by several goroutines unless coverage
// counting is enabled (see EnableCoverage).
type VM struct {
	prog []vmInsn
	cov  []uint64
}

// vmOp is an instruction decoded for the interpreter's dispatch.
type vmOp uint8

const (
	vmLdAbsLE vmOp = iota
	vmLdAbsBE
	vmLdImm
	vmLdxImm
	vmLdMem
	vmLdxMem
	vmSt
	vmStx
	vmAddK
	vmSubK
	vmMulK
	vmDivK
	vmAndK
	vmOrK
	vmXorK
	vmLshK
	vmRshK
	vmAddX
	vmSubX
	vmMulX
	vmDivX
	vmAndX
	vmOrX
	vmXorX
	vmLshX
	vmRshX
	vmNeg
	vmTax
	vmTxa
	vmJa
	vmJeqK
	vmJgtK
	vmJgeK
	vmJsetK
	vmJeqX
	vmJgtX
	vmJgeX
	vmJsetX
	vmRetK
	vmRetA
)

// vmInsn is an instruction decoded for the interpreter: jump targets are
// absolute pcs (jt alone for ja).
type vmInsn struct {
	op     vmOp
	jt, jf uint16
	k      uint32
}

// vmOpOf maps every opcode a valid seccomp filter may contain, except the
// absolute load whose op depends on the byte order, to its vmOp.
var vmOpOf = map[uint16]vmOp{
	ClassLD | ModeIMM:  vmLdImm,
	ClassLDX | ModeIMM: vmLdxImm,
	ClassLD | ModeMEM:  vmLdMem,
	ClassLDX | ModeMEM: vmLdxMem,
	ClassST:            vmSt,
	ClassSTX:           vmStx,

	ClassALU | AluADD | SrcK: vmAddK,
	ClassALU | AluSUB | SrcK: vmSubK,
	ClassALU | AluMUL | SrcK: vmMulK,
	ClassALU | AluDIV | SrcK: vmDivK,
	ClassALU | AluAND | SrcK: vmAndK,
	ClassALU | AluOR | SrcK:  vmOrK,
	ClassALU | AluXOR | SrcK: vmXorK,
	ClassALU | AluLSH | SrcK: vmLshK,
	ClassALU | AluRSH | SrcK: vmRshK,
	ClassALU | AluADD | SrcX: vmAddX,
	ClassALU | AluSUB | SrcX: vmSubX,
	ClassALU | AluMUL | SrcX: vmMulX,
	ClassALU | AluDIV | SrcX: vmDivX,
	ClassALU | AluAND | SrcX: vmAndX,
	ClassALU | AluOR | SrcX:  vmOrX,
	ClassALU | AluXOR | SrcX: vmXorX,
	ClassALU | AluLSH | SrcX: vmLshX,
	ClassALU | AluRSH | SrcX: vmRshX,
	ClassALU | AluNEG:        vmNeg,

	ClassMISC | MiscTAX: vmTax,
	ClassMISC | MiscTXA: vmTxa,

	ClassJMP | JmpJA:          vmJa,
	ClassJMP | JmpJEQ | SrcK:  vmJeqK,
	ClassJMP | JmpJGT | SrcK:  vmJgtK,
	ClassJMP | JmpJGE | SrcK:  vmJgeK,
	ClassJMP | JmpJSET | SrcK: vmJsetK,
	ClassJMP | JmpJEQ | SrcX:  vmJeqX,
	ClassJMP | JmpJGT | SrcX:  vmJgtX,
	ClassJMP | JmpJGE | SrcX:  vmJgeX,
	ClassJMP | JmpJSET | SrcX: vmJsetX,

	ClassRET | RetK: vmRetK,
	ClassRET | RetA: vmRetA,
}

// NewVM validates p (see Validate) and prepares it to run over
// seccomp_data laid out in the given byte order.
func NewVM(p Program, order binary.ByteOrder) (*VM, error) {
	big, err := isBigEndian(order)
	if err != nil {
		return nil, fmt.Errorf("bpf VM: %w", err)
	}
	if verr := validate(p); verr != nil {
		return nil, fmt.Errorf("bpf VM: %w", verr)
	}
	prog := make([]vmInsn, len(p))
	for pc, in := range p {
		vi := vmInsn{k: in.K}
		switch in.Code {
		case ClassLD | SizeW | ModeABS:
			vi.op = vmLdAbsLE
			if big {
				vi.op = vmLdAbsBE
			}
		case ClassLD | SizeW | ModeLEN: // seccomp_check_filter rewrites these
			vi.op, vi.k = vmLdImm, DataSize
		case ClassLDX | SizeW | ModeLEN:
			vi.op, vi.k = vmLdxImm, DataSize
		default:
			op, ok := vmOpOf[in.Code]
			if !ok {
				// Validate accepted an opcode this table lacks: a bug here.
				return nil, fmt.Errorf("bpf VM: pc %d: opcode %#04x passed validation but the interpreter does not know it", pc, in.Code)
			}
			vi.op = op
		}
		switch {
		case vi.op == vmJa:
			vi.jt = uint16(pc + 1 + int(in.K)) // < len(p) <= MaxInsns
		case vi.op >= vmJeqK && vi.op <= vmJsetX:
			vi.jt = uint16(pc + 1 + int(in.Jt))
			vi.jf = uint16(pc + 1 + int(in.Jf))
		}
		prog[pc] = vi
	}
	return &VM{prog: prog}, nil
}

// Run validates p and runs it over data, a struct seccomp_data of
// DataSize bytes laid out in the given byte order (see MakeData). It
// returns an error for a program Validate refuses and for data of the
// wrong size. To run one program many times, use NewVM and VM.Run, which
// validate once.
func Run(p Program, data []byte, order binary.ByteOrder, opt Options) (Result, error) {
	vm, err := NewVM(p, order)
	if err != nil {
		return Result{}, err
	}
	if len(data) != DataSize {
		return Result{}, fmt.Errorf("bpf run: seccomp_data is %d bytes, want %d", len(data), DataSize)
	}
	return vm.Run(data, opt), nil
}

// Len is the number of instructions in the VM's program.
func (vm *VM) Len() int { return len(vm.prog) }

// EnableCoverage makes every later Run count how many times each
// instruction executes (see Coverage). While it is enabled, the VM must
// not run in several goroutines at once. Without it, runs pay nothing for
// the facility.
func (vm *VM) EnableCoverage() {
	if vm.cov == nil {
		vm.cov = make([]uint64, len(vm.prog))
	}
}

// Coverage returns, for each pc, how many times it has executed since
// EnableCoverage or ResetCoverage; nil if coverage is not enabled. The
// slice is a copy.
func (vm *VM) Coverage() []uint64 {
	if vm.cov == nil {
		return nil
	}
	return append([]uint64(nil), vm.cov...)
}

// Uncovered lists the pcs that have not executed since EnableCoverage or
// ResetCoverage; nil if coverage is not enabled.
func (vm *VM) Uncovered() []int {
	if vm.cov == nil {
		return nil
	}
	out := []int{}
	for pc, c := range vm.cov {
		if c == 0 {
			out = append(out, pc)
		}
	}
	return out
}

// ResetCoverage sets every coverage count back to zero.
func (vm *VM) ResetCoverage() { clear(vm.cov) }

// Run runs the program over data, a struct seccomp_data laid out in the
// VM's byte order (see MakeData). Data should be DataSize bytes long;
// shorter data reads as if padded with zero bytes and bytes past DataSize
// are ignored, so that Run never fails (the package-level Run refuses data
// of the wrong size instead). Run allocates only when opt.Trace is set.
func (vm *VM) Run(data []byte, opt Options) Result {
	var d *[DataSize]byte
	var padded [DataSize]byte
	if len(data) >= DataSize {
		d = (*[DataSize]byte)(data[:DataSize])
	} else {
		copy(padded[:], data)
		d = &padded
	}
	prog := vm.prog
	if len(prog) == 0 {
		return Result{} // the zero VM, which NewVM never returns
	}
	cov := vm.cov
	trace := opt.Trace
	instrument := trace || cov != nil // one test per instruction when off
	var path []int
	if trace {
		// Jumps go forward only, so no pc runs twice.
		path = make([]int, 0, len(prog))
	}
	var (
		a, x     uint32
		mem      [MemWords]uint32
		executed int
		pc       int
	)
	for {
		in := prog[pc]
		executed++
		if instrument {
			if cov != nil {
				cov[pc]++
			}
			if trace {
				path = append(path, pc)
			}
		}
		pc++
		switch in.op {
		case vmLdAbsLE:
			// k is a validated multiple of 4 below 64; the mask says so
			// to the compiler and keeps any k in bounds.
			a = binary.LittleEndian.Uint32(d[in.k&(DataSize-4):])
		case vmLdAbsBE:
			a = binary.BigEndian.Uint32(d[in.k&(DataSize-4):])
		case vmLdImm:
			a = in.k
		case vmLdxImm:
			x = in.k
		case vmLdMem:
			a = mem[in.k&(MemWords-1)]
		case vmLdxMem:
			x = mem[in.k&(MemWords-1)]
		case vmSt:
			mem[in.k&(MemWords-1)] = a
		case vmStx:
			mem[in.k&(MemWords-1)] = x
		case vmAddK:
			a += in.k
		case vmSubK:
			a -= in.k
		case vmMulK:
			a *= in.k
		case vmDivK:
			a /= in.k // validated non-zero
		case vmAndK:
			a &= in.k
		case vmOrK:
			a |= in.k
		case vmXorK:
			a ^= in.k
		case vmLshK:
			a <<= in.k // validated below 32
		case vmRshK:
			a >>= in.k
		case vmAddX:
			a += x
		case vmSubX:
			a -= x
		case vmMulX:
			a *= x
		case vmDivX:
			if x == 0 {
				return Result{Ret: 0, Executed: executed, Path: path}
			}
			a /= x
		case vmAndX:
			a &= x
		case vmOrX:
			a |= x
		case vmXorX:
			a ^= x
		case vmLshX:
			a <<= x & 31
		case vmRshX:
			a >>= x & 31
		case vmNeg:
			a = -a
		case vmTax:
			x = a
		case vmTxa:
			a = x
		case vmJa:
			pc = int(in.jt)
		case vmJeqK:
			pc = vmBranch(a == in.k, in)
		case vmJgtK:
			pc = vmBranch(a > in.k, in)
		case vmJgeK:
			pc = vmBranch(a >= in.k, in)
		case vmJsetK:
			pc = vmBranch(a&in.k != 0, in)
		case vmJeqX:
			pc = vmBranch(a == x, in)
		case vmJgtX:
			pc = vmBranch(a > x, in)
		case vmJgeX:
			pc = vmBranch(a >= x, in)
		case vmJsetX:
			pc = vmBranch(a&x != 0, in)
		case vmRetK:
			return Result{Ret: in.k, Executed: executed, Path: path}
		case vmRetA:
			return Result{Ret: a, Executed: executed, Path: path}
		}
	}
}

func vmBranch(cond bool, in vmInsn) int {
	if cond {
		return int(in.jt)
	}
	return int(in.jf)
}
