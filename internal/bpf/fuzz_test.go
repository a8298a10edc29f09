package bpf

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// fuzzShaped turns bytes into a program more likely to be valid than raw
// decoding gives: each 8 bytes pick an opcode from seccompOpcodes (or, one
// time in 16, any opcode), jump offsets within the program and small
// constants, so that the fuzzer spends its time past Validate too.
func fuzzShaped(b []byte) Program {
	n := min(len(b)/8, MaxInsns+1)
	p := make(Program, n)
	for i := range p {
		w := b[8*i : 8*i+8]
		code := seccompOpcodes[int(w[0])%len(seccompOpcodes)]
		if w[1]&0x0f == 0 {
			code = binary.LittleEndian.Uint16(w[2:])
		}
		remaining := n - i
		k := binary.LittleEndian.Uint32(w[4:])
		switch w[1] >> 6 {
		case 0:
			k %= 64 // load offsets, scratch cells, shifts
		case 1:
			k %= uint32(remaining) // ja offsets
		}
		p[i] = Insn{Code: code, Jt: w[2] % uint8(min(remaining, 255)), Jf: w[3] % uint8(min(remaining, 255)), K: k}
	}
	return p
}

func FuzzRun(f *testing.F) {
	for _, p := range []Program{
		exampleProgram(binary.LittleEndian),
		benchProgram(),
		{Stmt(ClassST, 1), Stmt(ClassLDX|ModeMEM, 1), Stmt(ClassALU|AluDIV|SrcX, 0), Stmt(ClassRET|RetA, 0)},
		{Stmt(ClassLD|SizeW|ModeABS, 2), Stmt(ClassRET|RetA, 0)},
	} {
		d := tData(binary.LittleEndian)
		f.Add(p.Encode(binary.LittleEndian), d[:], false)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		p := tGenProgram(r, 20)
		f.Add(p.Encode(binary.BigEndian), tGenData(r), false)
		b := make([]byte, 8*20)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b, tGenData(r), true)
	}

	f.Fuzz(func(t *testing.T, prog, data []byte, shaped bool) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			var p Program
			if shaped {
				p = fuzzShaped(prog)
			} else {
				var err error
				p, err = Decode(prog[:len(prog)/8*8], order)
				if err != nil {
					t.Fatalf("Decode of whole instructions: %v", err)
				}
			}
			// Neither may panic on anything.
			_ = Disassemble(p, order, nil)
			for _, in := range p {
				_ = in.String()
			}
			verr := Validate(p)
			vm, err := NewVM(p, order)
			if (verr == nil) != (err == nil) {
				t.Fatalf("Validate says %v, NewVM says %v", verr, err)
			}
			res, rerr := Run(p, data, order, Options{Trace: true})
			switch {
			case verr != nil:
				if rerr == nil {
					t.Fatalf("Run ran a program Validate refuses (%v)", verr)
				}
				continue
			case len(data) != DataSize:
				if rerr == nil {
					t.Fatalf("Run accepted %d bytes of data", len(data))
				}
			case rerr != nil:
				t.Fatalf("Run: %v", rerr)
			default:
				tCheckResult(t, p, res)
			}
			// The VM runs any data, and agrees with Run on good data.
			res2 := vm.Run(data, Options{})
			if len(data) == DataSize && (res2.Ret != res.Ret || res2.Executed != res.Executed) {
				t.Fatalf("VM.Run %+v, Run %+v", res2, res)
			}
		}
	})
}

// checkResult checks what must hold of any run of a valid program.
func tCheckResult(t *testing.T, p Program, res Result) {
	t.Helper()
	if res.Executed < 1 || res.Executed > len(p) || len(res.Path) != res.Executed {
		t.Fatalf("executed %d, path %v, program of %d", res.Executed, res.Path, len(p))
	}
	if res.Path[0] != 0 {
		t.Fatalf("path starts at %d", res.Path[0])
	}
	for i := 1; i < len(res.Path); i++ {
		if res.Path[i] <= res.Path[i-1] {
			t.Fatalf("path goes backwards: %v", res.Path)
		}
	}
	last := p[res.Path[len(res.Path)-1]]
	switch last.Code {
	case ClassRET | RetK:
		if res.Ret != last.K {
			t.Fatalf("ret #%#x returned %#x", last.K, res.Ret)
		}
	case ClassRET | RetA:
	case ClassALU | AluDIV | SrcX:
		if res.Ret != 0 {
			t.Fatalf("division by zero returned %#x", res.Ret)
		}
	default:
		t.Fatalf("run ended on %v", last)
	}
}
