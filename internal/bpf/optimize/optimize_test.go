package optimize

import (
	"encoding/binary"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// TestProgram runs all the passes to their fixed point on programs the
// compiler emits.
func TestProgram(t *testing.T) {
	testPass(t, func(p bpf.Program) (bpf.Program, bool) {
		got := Program(p)
		return got, dis(got) != dis(p)
	}, []passCase{
		{"a 64-bit argument equal to one of two values",
			highWordOr,
			`ld [20]
			jeq #0, 2, 5
			ld [16]
			jeq #2, 6, 4
			jeq #5, 6, 5
			ret kill
			ret allow`},
		// examples/metrics on x86_64 as the linear dispatch compiles it:
		// read, close and sendto share one block, write's last comparison
		// is fsync's, 57 instructions become 47.
		{"examples/metrics", metricsX86, metricsX86Optimized},
		{"nothing to do", "ld [0]\njeq #1, 2, 3\nret allow\nret kill", ""},
	})
}

const metricsX86 = `
0000: ld   [4]  ; arch
0001: jeq  #0xc000003e, 0002, 0054
0002: ld   [0]  ; nr
0003: jge  #0x40000000, 0054, 0004
0004: jeq  #0x0, 0025, 0005  ; read
0005: jeq  #0x1, 0029, 0006  ; write
0006: jeq  #0x3, 0032, 0007  ; close
0007: jeq  #0x7, 0055, 0008  ; poll
0008: jeq  #0xa, 0055, 0009  ; mprotect
0009: jeq  #0xc, 0055, 0010  ; brk
0010: jeq  #0x27, 0055, 0011  ; getpid
0011: jeq  #0x2c, 0036, 0012  ; sendto
0012: jeq  #0x3b, 0056, 0013  ; execve
0013: jeq  #0x4a, 0040, 0014  ; fsync
0014: jeq  #0x59, 0055, 0015  ; readlink
0015: jeq  #0x9e, 0055, 0016  ; arch_prctl
0016: jeq  #0xda, 0055, 0017  ; set_tid_address
0017: jeq  #0xdb, 0055, 0018  ; restart_syscall
0018: jeq  #0xe7, 0055, 0019  ; exit_group
0019: jeq  #0x111, 0055, 0020  ; set_robust_list
0020: jeq  #0x120, 0042, 0021  ; accept4
0021: jeq  #0x12e, 0055, 0022  ; prlimit64
0022: jeq  #0x13e, 0055, 0023  ; getrandom
0023: jeq  #0x14e, 0055, 0024  ; rseq
0024: ja   0054
0025: ld   [16]  ; arg0 low
0026: jeq  #0x2, 0054, 0027
0027: jeq  #0x1, 0054, 0028
0028: jeq  #0x3, 0054, 0055
0029: ld   [16]  ; arg0 low
0030: jeq  #0x2, 0055, 0031
0031: jeq  #0x1, 0055, 0054
0032: ld   [16]  ; arg0 low
0033: jeq  #0x2, 0054, 0034
0034: jeq  #0x1, 0054, 0035
0035: jeq  #0x3, 0054, 0055
0036: ld   [16]  ; arg0 low
0037: jeq  #0x2, 0054, 0038
0038: jeq  #0x1, 0054, 0039
0039: jeq  #0x3, 0054, 0055
0040: ld   [16]  ; arg0 low
0041: jeq  #0x1, 0055, 0054
0042: ld   [16]  ; arg0 low
0043: jeq  #0x3, 0044, 0054
0044: ld   [28]  ; arg1 high
0045: jeq  #0x0, 0046, 0054
0046: ld   [24]  ; arg1 low
0047: jeq  #0x0, 0048, 0054
0048: ld   [36]  ; arg2 high
0049: jeq  #0x0, 0050, 0054
0050: ld   [32]  ; arg2 low
0051: jeq  #0x0, 0052, 0054
0052: ld   [40]  ; arg3 low
0053: jeq  #0x80800, 0055, 0054
0054: ret  #0x80000000  ; KILL_PROCESS
0055: ret  #0x7fff0000  ; ALLOW
0056: ret  #0x7fc00000  ; USER_NOTIF: exec once
`

const metricsX86Optimized = `
0000: ld   [4]  ; arch
0001: jeq  #0xc000003e, 0002, 0044
0002: ld   [0]  ; nr
0003: jge  #0x40000000, 0044, 0004
0004: jeq  #0x0, 0026, 0005
0005: jeq  #0x1, 0024, 0006
0006: jeq  #0x3, 0026, 0007
0007: jeq  #0x7, 0045, 0008
0008: jeq  #0xa, 0045, 0009
0009: jeq  #0xc, 0045, 0010
0010: jeq  #0x27, 0045, 0011
0011: jeq  #0x2c, 0026, 0012
0012: jeq  #0x3b, 0046, 0013
0013: jeq  #0x4a, 0030, 0014
0014: jeq  #0x59, 0045, 0015
0015: jeq  #0x9e, 0045, 0016
0016: jeq  #0xda, 0045, 0017
0017: jeq  #0xdb, 0045, 0018
0018: jeq  #0xe7, 0045, 0019
0019: jeq  #0x111, 0045, 0020
0020: jeq  #0x120, 0032, 0021
0021: jeq  #0x12e, 0045, 0022
0022: jeq  #0x13e, 0045, 0023
0023: jeq  #0x14e, 0045, 0044
0024: ld   [16]
0025: jeq  #0x2, 0045, 0031
0026: ld   [16]
0027: jeq  #0x2, 0044, 0028
0028: jeq  #0x1, 0044, 0029
0029: jeq  #0x3, 0044, 0045
0030: ld   [16]
0031: jeq  #0x1, 0045, 0044
0032: ld   [16]
0033: jeq  #0x3, 0034, 0044
0034: ld   [28]
0035: jeq  #0x0, 0036, 0044
0036: ld   [24]
0037: jeq  #0x0, 0038, 0044
0038: ld   [36]
0039: jeq  #0x0, 0040, 0044
0040: ld   [32]
0041: jeq  #0x0, 0042, 0044
0042: ld   [40]
0043: jeq  #0x80800, 0045, 0044
0044: ret  #0x80000000  ; KILL_PROCESS
0045: ret  #0x7fff0000  ; ALLOW
0046: ret  #0x7fc00000  ; USER_NOTIF
`

// TestProgramOverLimit gives the optimizer a program of more than
// bpf.MaxInsns instructions, which the kernel refuses, with a redundant
// load and a copy of the same block per syscall: optimized, it fits, and
// still allows syscalls 0 to 1099 and kills the others.
func TestProgramOverLimit(t *testing.T) {
	const n = 1100
	var p bpf.Program
	p = append(p, bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr))
	for i := range n {
		p = append(p,
			bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ, uint32(i), 0, 2),
			bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 16),
			bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow),
			bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, bpf.OffNr))
	}
	p = append(p, bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess))
	if len(p) <= bpf.MaxInsns {
		t.Fatalf("the test's program has only %d instructions", len(p))
	}
	got := Program(p)
	if err := bpf.Validate(got); err != nil {
		t.Fatalf("%d instructions from %d: %v", len(got), len(p), err)
	}
	vm, err := bpf.NewVM(got, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	for nr := range n + 10 {
		d := bpf.MakeData(int32(nr), 0, 0, [6]uint64{uint64(nr)}, binary.LittleEndian)
		want := bpf.RetAllow
		if nr >= n {
			want = bpf.RetKillProcess
		}
		if res := vm.Run(d[:], bpf.Options{}); res.Ret != want {
			t.Fatalf("nr %d: %#x, want %#x", nr, res.Ret, want)
		}
	}
	t.Logf("%d instructions from %d", len(got), len(p))
}

// highWordOr is arg0 == 2 || arg0 == 5 on a 64-bit argument (little
// endian) as the compiler writes it: each comparison loads and checks the
// high word.
const highWordOr = `
ld [20]
jeq #0, 2, 4
ld [16]
jeq #2, 9, 4
ld [20]
jeq #0, 6, 8
ld [16]
jeq #5, 9, 8
ret kill
ret allow`
