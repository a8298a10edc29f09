package bpf

import (
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"
)

// follow returns the pc control reaches from pc after taking unconditional
// jumps.
func follow(p Program, pc int) int {
	for isJA(p[pc]) {
		pc += 1 + int(p[pc].K)
	}
	return pc
}

// TestBuilderLongJumps builds random programs whose jumps span from 0 to
// thousands of instructions and checks that every jump, after assembly,
// lands on the instruction its label marked.
func TestBuilderLongJumps(t *testing.T) {
	for _, islands := range []bool{true, false} {
		useIslands = islands
		testLongJumps(t)
	}
	useIslands = true
}

// TestIslandsShareStubs checks that jumps to one far target share stubs:
// a condition with many alternatives costs about one instruction each.
func TestIslandsShareStubs(t *testing.T) {
	b := NewBuilder()
	yes, no := b.NewLabel("yes"), b.NewLabel("no")
	b.LoadAbs(16)
	for v := uint32(0); v < 3000; v++ {
		next := b.NewLabel("next")
		b.JumpIf(JmpJEQ, v, yes, next)
		b.Mark(next)
	}
	b.JumpTo(no)
	b.Mark(yes)
	b.Ret(1)
	b.Mark(no)
	b.Ret(0)
	p, err := b.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > 3000+3000/100 {
		t.Errorf("%d instructions for 3000 alternatives: stubs are not shared", len(p))
	}
	// Every value still reaches "yes", every other value "no".
	for _, v := range []uint32{0, 1, 1234, 2999, 3000, 1 << 31} {
		want := uint32(0)
		if v < 3000 {
			want = 1
		}
		data := MakeData(0, 0, 0, [6]uint64{uint64(v)}, nil)
		res, err := Run(p, data[:], binary.LittleEndian, Options{})
		if err != nil || res.Ret != want {
			t.Errorf("value %d: ret %d (%v), want %d", v, res.Ret, err, want)
		}
	}
}

func testLongJumps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 200; iter++ {
		b := NewBuilder()
		n := 50 + rng.Intn(1500)
		labels := make([]Label, n+1)
		for i := range labels {
			labels[i] = b.NewLabel("L")
		}
		type jump struct{ t, f, id, at int }
		var jumps []jump
		// Every instruction is either a jump or `ld #id` with a unique id,
		// so an instruction's identity survives the rewriting.
		id := 0
		for i := 0; i < n; i++ {
			b.Mark(labels[i])
			if i < n-1 && rng.Intn(3) == 0 {
				span := func() int {
					if rng.Intn(4) == 0 {
						return i + 1 + rng.Intn(n-i)
					}
					return i + 1 + rng.Intn(min(n-i, 300))
				}
				tt, ff := span(), span()
				b.JumpIf(JmpJEQ, uint32(id), labels[tt], labels[ff])
				jumps = append(jumps, jump{tt, ff, id, i})
				id++
				continue
			}
			b.Stmt(ClassLD|ModeIMM, uint32(1_000_000+i))
		}
		b.Mark(labels[n])
		b.Ret(0)
		prog, err := b.Assemble()
		if err != nil {
			t.Fatal(err)
		}
		// Where did each original non-jump instruction land?
		pcOf := map[int]int{}
		condAt := map[uint32]int{}
		for pc, in := range prog {
			switch {
			case in.Code == ClassLD|ModeIMM:
				pcOf[int(in.K)-1_000_000] = pc
			case isCond(in):
				condAt[in.K] = pc
			case in.Code == ClassRET|RetK:
				pcOf[n] = pc
			}
		}
		landed := func(pc int) int {
			pc = follow(prog, pc)
			for orig, at := range pcOf {
				if at == pc {
					return orig
				}
			}
			in := prog[pc]
			if isCond(in) {
				for _, j := range jumps {
					if uint32(j.id) == in.K {
						return -1000 - j.id
					}
				}
			}
			return -1
		}
		// The original index of the jump with each id, to compare
		// against jump targets that are jumps themselves.
		origOfJump := map[int]int{}
		for _, j := range jumps {
			origOfJump[j.id] = j.at
		}
		for _, j := range jumps {
			pc, ok := condAt[uint32(j.id)]
			if !ok {
				t.Fatalf("jump %d missing", j.id)
			}
			in := prog[pc]
			for side, want := range map[string]int{"true": j.t, "false": j.f} {
				off := in.Jt
				if side == "false" {
					off = in.Jf
				}
				got := landed(pc + 1 + int(off))
				if got <= -1000 {
					// Landed on another jump: check that jump is the
					// instruction the label marked.
					if o := origOfJump[-1000-got]; o != want {
						t.Fatalf("iter %d: jump %d %s side lands on jump at %d, want %d", iter, j.id, side, o, want)
					}
					continue
				}
				if got != want {
					t.Fatalf("iter %d: jump %d %s side lands on %d, want %d", iter, j.id, side, got, want)
				}
			}
		}
		if len(prog) < b.Len() {
			t.Fatalf("assembled program shorter than its instructions")
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	for name, build := range map[string]func(b *Builder){
		"never marked": func(b *Builder) {
			b.JumpTo("nowhere")
			b.Ret(0)
		},
		"marked at end": func(b *Builder) {
			l := b.NewLabel("end")
			b.JumpTo(l)
			b.Ret(0)
			b.Mark(l)
		},
		"backwards": func(b *Builder) {
			l := b.NewLabel("top")
			b.Mark(l)
			b.LoadAbs(0)
			b.JumpIf(JmpJEQ, 1, l, l)
			b.Ret(0)
		},
		"marked twice": func(b *Builder) {
			b.Mark("x")
			b.Ret(0)
			b.Mark("x")
			b.Ret(1)
		},
		"stmt with jump opcode": func(b *Builder) {
			b.Stmt(ClassJMP|JmpJA, 0)
		},
	} {
		b := NewBuilder()
		build(b)
		if _, err := b.Assemble(); err == nil {
			t.Errorf("%s: assembled without error", name)
		} else if !strings.Contains(err.Error(), "label") && !strings.Contains(err.Error(), "opcode") {
			t.Errorf("%s: unhelpful error %v", name, err)
		}
	}
}

// TestBuilderElidesLoads checks that a load is left out exactly when every
// path into it already holds the word.
func TestBuilderElidesLoads(t *testing.T) {
	countLoads := func(p Program) int {
		n := 0
		for _, in := range p {
			if in.Code == ClassLD|SizeW|ModeABS {
				n++
			}
		}
		return n
	}
	// ld [16]; jeq 1 -> a, b; a: ld [16] (elided: both paths hold [16]) ...
	b := NewBuilder()
	la, lb, kill := b.NewLabel("a"), b.NewLabel("b"), b.NewLabel("kill")
	b.LoadAbs(16)
	b.JumpIf(JmpJEQ, 1, la, lb)
	b.Mark(la)
	b.Mark(lb)
	b.LoadAbs(16)
	b.JumpIf(JmpJEQ, 2, kill, kill)
	b.Mark(kill)
	b.Ret(0)
	p, err := b.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if got := countLoads(p); got != 1 {
		t.Errorf("%d loads, want 1:\n%s", got, Disassemble(p, nil, nil))
	}

	// Two paths with different words: the load stays.
	b = NewBuilder()
	la, lb, join := b.NewLabel("a"), b.NewLabel("b"), b.NewLabel("join")
	b.LoadAbs(16)
	b.JumpIf(JmpJEQ, 1, la, lb)
	b.Mark(la)
	b.LoadAbs(24)
	b.JumpTo(join)
	b.Mark(lb)
	b.JumpTo(join)
	b.Mark(join)
	b.LoadAbs(16)
	b.Ret(0)
	p, err = b.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if got := countLoads(p); got != 3 {
		t.Errorf("%d loads, want 3:\n%s", got, Disassemble(p, nil, nil))
	}

	// An ALU operation changes A: the load after it stays.
	b = NewBuilder()
	b.LoadAbs(16)
	b.AndK(0xff)
	b.LoadAbs(16)
	b.Ret(0)
	if p, _ = b.Assemble(); countLoads(p) != 2 {
		t.Errorf("load after and elided:\n%s", Disassemble(p, nil, nil))
	}
}
