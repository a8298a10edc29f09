package optimize

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// passCase is a program before a pass and after it; after "" means the
// pass leaves it alone.
type passCase struct {
	name          string
	before, after string
}

// testPass runs pass on each case's program, compares the result with the
// expected one, and checks that both mean the same on random inputs.
func testPass(t *testing.T, pass func(bpf.Program) (bpf.Program, bool), cases []passCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := asm(t, c.before)
			if err := bpf.Validate(before); err != nil {
				t.Fatalf("the case's program is invalid: %v", err)
			}
			got, changed := pass(before)
			want, wantChanged := before, false
			if c.after != "" {
				want, wantChanged = asm(t, c.after), true
			}
			if changed != wantChanged || dis(got) != dis(want) {
				t.Fatalf("changed %v, want %v; got\n%swant\n%s", changed, wantChanged, dis(got), dis(want))
			}
			checkEquivalent(t, before, got, 2000, 1)
		})
	}
}

func TestThreadJumps(t *testing.T) {
	far := "ld [0]\njeq #1, 2, 3\nja 300\n" + strings.Repeat("ret kill\n", 297) + "ret allow"
	testPass(t, ThreadJumps, []passCase{
		{"a jump to a ja goes to its target",
			"ld [0]\njeq #1, 2, 3\nja 4\nret kill\nret allow",
			"ld [0]\njeq #1, 4, 3\nja 4\nret kill\nret allow"},
		{"a chain of ja",
			"ld [0]\nja 2\nja 3\nja 4\nret allow",
			"ld [0]\nja 4\nja 4\nja 4\nret allow"},
		{"true edge into the same comparison",
			"ld [0]\njeq #1, 2, 3\njeq #1, 4, 3\nret kill\nret allow",
			"ld [0]\njeq #1, 4, 3\njeq #1, 4, 3\nret kill\nret allow"},
		{"false edge into the same comparison",
			"ld [0]\njeq #1, 3, 2\njeq #1, 3, 4\nret kill\nret allow",
			"ld [0]\njeq #1, 3, 4\njeq #1, 3, 4\nret kill\nret allow"},
		{"a range decides a greater-than",
			"ld [0]\njge #10, 2, 3\njgt #5, 4, 3\nret kill\nret allow",
			"ld [0]\njge #10, 4, 3\njgt #5, 4, 3\nret kill\nret allow"},
		{"jset false decides jset on fewer bits",
			"ld [0]\njset #0x6, 3, 2\njset #0x2, 3, 4\nret kill\nret allow",
			"ld [0]\njset #0x6, 3, 4\njset #0x2, 3, 4\nret kill\nret allow"},
		{"an undecided comparison stays",
			"ld [0]\njeq #1, 3, 2\njeq #2, 4, 3\nret kill\nret allow", ""},
		{"a load between is not crossed",
			"ld [0]\njeq #1, 2, 4\nld [16]\njeq #1, 5, 4\nret kill\nret allow", ""},
		{"out of a conditional jump's reach", far, ""},
	})
}

func TestThreadKnownValues(t *testing.T) {
	// The true edge of pc 1 skips `ld [0]` to the ja at 3, where A, not
	// read before the next load, holds arg0 instead of nr; the ja's own
	// edge may then no longer skip the load at 260 as the analysis says.
	fill := strings.Repeat("ret kill\n", 256)
	stale := "ld [16]\njeq #1, 2, 4\nld [0]\nja 260\n" + fill + "ld [0]\nret a"
	staleAfter := "ld [16]\njeq #1, 3, 4\nld [0]\nja 260\n" + fill + "ld [0]\nret a"
	testPass(t, ThreadKnownValues, []passCase{
		{"no threading past an edge that changed A", stale, staleAfter},
		{"the high word of a 64-bit argument is checked once",
			highWordOr,
			`ld [20]
			jeq #0, 2, 8
			ld [16]
			jeq #2, 9, 7
			ld [20]
			jeq #0, 6, 8
			ld [16]
			jeq #5, 9, 8
			ret kill
			ret allow`},
		{"a fact from a dominating check decides a later one",
			`ld [0]
			jeq #3, 2, 6
			ld [16]
			jeq #1, 4, 6
			ld [0]
			jeq #3, 7, 6
			ret kill
			ret allow`,
			`ld [0]
			jeq #3, 2, 6
			ld [16]
			jeq #1, 7, 6
			ld [0]
			jeq #3, 7, 6
			ret kill
			ret allow`},
		{"A read at the target, holding another word: not threaded",
			`ld [16]
			jeq #9, 2, 6
			ld [0]
			jeq #3, 4, 6
			ld [16]
			jeq #9, 7, 6
			ret kill
			ret a`, ""},
		{"each edge into a join with its own facts",
			`ld [0]
			jeq #3, 3, 2
			jeq #4, 3, 5
			ld [0]
			jeq #3, 6, 5
			ret kill
			ret allow`,
			`ld [0]
			jeq #3, 6, 2
			jeq #4, 5, 5
			ld [0]
			jeq #3, 6, 5
			ret kill
			ret allow`},
	})
}

func TestSharedReturns(t *testing.T) {
	testPass(t, SharedReturns, []passCase{
		{"a ja to a return is the return",
			"ld [0]\njeq #1, 2, 3\nja 4\nret kill\nret allow",
			"ld [0]\njeq #1, 2, 3\nret allow\nret kill\nret allow"},
		{"jumps go to the last equal return",
			"ld [0]\njeq #1, 2, 3\nret allow\njeq #2, 4, 5\nret kill\nret allow",
			"ld [0]\njeq #1, 5, 3\nret allow\njeq #2, 4, 5\nret kill\nret allow"},
		{"different returns stay apart",
			"ld [0]\njeq #1, 2, 3\nret log\nret allow", ""},
	})
}

func TestMergeTails(t *testing.T) {
	testPass(t, MergeTails, []passCase{
		{"two equal blocks",
			`ld [0]
			jeq #1, 3, 2
			jeq #2, 5, 8
			ld [16]
			jeq #7, 8, 7
			ld [16]
			jeq #7, 8, 7
			ret kill
			ret allow`,
			`ld [0]
			jeq #1, 5, 2
			jeq #2, 5, 8
			ld [16]
			jeq #7, 8, 7
			ld [16]
			jeq #7, 8, 7
			ret kill
			ret allow`},
		{"blocks ending in different returns stay apart",
			`ld [0]
			jeq #1, 2, 4
			ld [16]
			jeq #7, 7, 6
			ld [16]
			jeq #7, 7, 8
			ret kill
			ret allow
			ret log`, ""},
		{"equal returns",
			"ld [0]\njeq #1, 2, 3\nret allow\nret allow",
			"ld [0]\njeq #1, 3, 3\nret allow\nret allow"},
		{"a ja is not its target: never more instructions run",
			"ld [0]\njeq #1, 2, 4\nld [16]\nret allow\nld [16]\nja 6\nret allow", ""},
	})
}

func TestRemoveRedundantLoads(t *testing.T) {
	testPass(t, RemoveRedundantLoads, []passCase{
		{"a load of what every path loaded",
			"ld [0]\njeq #1, 2, 3\nld [0]\njeq #2, 4, 5\nret allow\nret kill",
			"ld [0]\njeq #1, 2, 2\njeq #2, 3, 4\nret allow\nret kill"},
		{"a constant A holds",
			"ld #7\nld #7\nret a",
			"ld #7\nret a"},
		{"one path loads another word",
			"ld [0]\njeq #1, 4, 2\nld [16]\njeq #7, 4, 7\nld [0]\njeq #2, 6, 7\nret allow\nret kill", ""},
		{"arithmetic changes A",
			"ld [0]\nadd #1\nld [0]\nret a", ""},
		{"a load nothing reads",
			"ld [0]\njeq #1, 2, 4\nld [16]\nret allow\nret kill",
			"ld [0]\njeq #1, 2, 3\nret allow\nret kill"},
		{"redundant first: the load that makes it so is dead too",
			"ld [0]\nja 2\nld [0]\nret a",
			"ld [0]\nja 2\nret a"},
	})
}

func TestRemoveDeadCode(t *testing.T) {
	testPass(t, RemoveDeadCode, []passCase{
		{"unreachable, ja +0 and equal targets",
			"ld [0]\njeq #1, 3, 3\nret log\nja 4\nret allow",
			"ld [0]\nja 2\nret allow"},
		{"a conditional jump with offsets 0",
			"ld [0]\njeq #1, 2, 2\nret allow",
			"ld [0]\nret allow"},
		{"everything reached", "ld [0]\njeq #1, 2, 3\nret allow\nret kill", ""},
	})
}

// TestPassesNeverGrow runs each pass alone on random programs: none makes
// a program longer, none changes its meaning, and the result is valid but
// for the kernel's check of scratch memory, which follows the program's
// layout rather than its paths (a `ja` turned into a `ret` can fail it):
// Program drops such a result.
func TestPassesNeverGrow(t *testing.T) {
	for _, pass := range Passes {
		t.Run(pass.Name, func(t *testing.T) {
			r := newRand(int64(len(pass.Name)))
			for i := range 300 {
				p := randProgram(r, 2+r.Intn(60))
				got, _ := pass.Run(p)
				if len(got) > len(p) {
					t.Fatalf("program %d grew from %d to %d", i, len(p), len(got))
				}
				if err := bpf.Validate(got); err != nil {
					if strings.Contains(err.Error(), "load of M[") {
						continue
					}
					t.Fatalf("program %d: %v\nbefore\n%safter\n%s", i, err, dis(p), dis(got))
				}
				checkEquivalent(t, p, got, 200, int64(i))
			}
		})
	}
}

func ExampleProgram() {
	// arg0 == 2 || arg0 == 5 on a 64-bit argument, as compiled: each
	// comparison loads and checks the high word.
	p := bpf.Program{
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 20),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ, 0, 0, 2),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 16),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ, 2, 5, 0),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 20),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ, 0, 0, 2),
		bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 16),
		bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ, 5, 1, 0),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess),
		bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow),
	}
	fmt.Print(bpf.Disassemble(Program(p), nil, nil))
	// Output:
	// 0000: ld   [20]
	// 0001: jeq  #0x0, 0002, 0005
	// 0002: ld   [16]
	// 0003: jeq  #0x2, 0006, 0004
	// 0004: jeq  #0x5, 0006, 0005
	// 0005: ret  #0x80000000  ; KILL_PROCESS
	// 0006: ret  #0x7fff0000  ; ALLOW
}
