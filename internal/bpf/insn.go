// Package bpf is classic BPF as seccomp uses it: instructions, a builder
// with symbolic labels, encoding in a target's byte order, a disassembler
// and an interpreter over struct seccomp_data that counts what it executes.
package bpf

import (
	"encoding/binary"
	"fmt"
)

// Insn is one struct sock_filter.
type Insn struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Program is a sequence of instructions, as the kernel receives it.
type Program []Insn

// MaxInsns is BPF_MAXINSNS: the kernel refuses longer programs.
const MaxInsns = 4096

// Instruction classes, sizes, modes, operations and sources (linux/bpf_common.h).
const (
	ClassLD   = 0x00
	ClassLDX  = 0x01
	ClassST   = 0x02
	ClassSTX  = 0x03
	ClassALU  = 0x04
	ClassJMP  = 0x05
	ClassRET  = 0x06
	ClassMISC = 0x07

	SizeW = 0x00
	SizeH = 0x08
	SizeB = 0x10

	ModeIMM = 0x00
	ModeABS = 0x20
	ModeIND = 0x40
	ModeMEM = 0x60
	ModeLEN = 0x80
	ModeMSH = 0xa0

	AluADD = 0x00
	AluSUB = 0x10
	AluMUL = 0x20
	AluDIV = 0x30
	AluOR  = 0x40
	AluAND = 0x50
	AluLSH = 0x60
	AluRSH = 0x70
	AluNEG = 0x80
	AluMOD = 0x90
	AluXOR = 0xa0

	JmpJA   = 0x00
	JmpJEQ  = 0x10
	JmpJGT  = 0x20
	JmpJGE  = 0x30
	JmpJSET = 0x40

	SrcK = 0x00
	SrcX = 0x08

	RetK = 0x00
	RetA = 0x10

	MiscTAX = 0x00
	MiscTXA = 0x80
)

// Offsets in struct seccomp_data.
const (
	OffNr   = 0
	OffArch = 4
	OffIP   = 8
	OffArgs = 16
	// DataSize is sizeof(struct seccomp_data).
	DataSize = 64
)

// ArgLow and ArgHigh are the offsets of the low and high 32-bit words of
// argument i in seccomp_data on a machine of the given byte order, told
// apart as everywhere in this package (isBigEndian): binary.NativeEndian
// is the order it is; nil, as an order neither big nor little endian, is
// taken for little endian.
func ArgLow(i int, order binary.ByteOrder) uint32 {
	if big, _ := isBigEndian(order); big {
		return uint32(OffArgs + 8*i + 4)
	}
	return uint32(OffArgs + 8*i)
}

// ArgHigh: see ArgLow. It is the other word of the argument's eight
// bytes.
func ArgHigh(i int, order binary.ByteOrder) uint32 {
	return ArgLow(i, order) ^ 4
}

// Stmt and Jump build raw instructions (BPF_STMT and BPF_JUMP).
func Stmt(code uint16, k uint32) Insn { return Insn{Code: code, K: k} }

// Jump: see Stmt.
func Jump(code uint16, k uint32, jt, jf uint8) Insn {
	return Insn{Code: code, Jt: jt, Jf: jf, K: k}
}

// Encode returns the program as the kernel reads it: 8 bytes per
// instruction, each field in the target's byte order.
func (p Program) Encode(order binary.ByteOrder) []byte {
	b := make([]byte, 8*len(p))
	for i, in := range p {
		order.PutUint16(b[8*i:], in.Code)
		b[8*i+2] = in.Jt
		b[8*i+3] = in.Jf
		order.PutUint32(b[8*i+4:], in.K)
	}
	return b
}

// Decode reads a program written by Encode.
func Decode(b []byte, order binary.ByteOrder) (Program, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("decode BPF: %d bytes is not a whole number of 8-byte instructions", len(b))
	}
	p := make(Program, len(b)/8)
	for i := range p {
		p[i] = Insn{
			Code: order.Uint16(b[8*i:]),
			Jt:   b[8*i+2],
			Jf:   b[8*i+3],
			K:    order.Uint32(b[8*i+4:]),
		}
	}
	return p, nil
}
