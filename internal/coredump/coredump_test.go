package coredump

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// note is one ELF note.
type note struct {
	typ  uint32
	desc []byte
}

// fakeCore builds a core file the way the kernel lays one out: an ELF
// header, one PT_NOTE segment with "CORE" notes.
func fakeCore(t testing.TB, class elf.Class, order binary.ByteOrder, machine elf.Machine, notes []note) []byte {
	t.Helper()
	var body bytes.Buffer
	for _, n := range notes {
		name := []byte("CORE\x00\x00\x00\x00")
		_ = binary.Write(&body, order, [3]uint32{5, uint32(len(n.desc)), n.typ})
		body.Write(name)
		body.Write(n.desc)
		body.Write(make([]byte, (4-len(n.desc)%4)%4))
	}
	var out bytes.Buffer
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(class), 0, byte(elf.EV_CURRENT)}
	if order == binary.LittleEndian {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	} else {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	if class == elf.ELFCLASS64 {
		hdr := elf.Header64{Ident: ident, Type: uint16(elf.ET_CORE), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
			Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1}
		_ = binary.Write(&out, order, hdr)
		_ = binary.Write(&out, order, elf.Prog64{Type: uint32(elf.PT_NOTE), Off: 64 + 56, Filesz: uint64(body.Len())})
	} else {
		hdr := elf.Header32{Ident: ident, Type: uint16(elf.ET_CORE), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
			Phoff: 52, Ehsize: 52, Phentsize: 32, Phnum: 1}
		_ = binary.Write(&out, order, hdr)
		_ = binary.Write(&out, order, elf.Prog32{Type: uint32(elf.PT_NOTE), Off: 52 + 32, Filesz: uint32(body.Len())})
	}
	out.Write(body.Bytes())
	return out.Bytes()
}

// regCase is a core of one architecture: where its registers go, and
// what Read must find.
type regCase struct {
	name    string
	class   elf.Class
	order   binary.ByteOrder
	machine elf.Machine
	// statusSize is sizeof(struct elf_prstatus) and regOff the offset of
	// pr_reg, word the register size; regs maps register slots to values.
	statusSize, regOff, word int
	regs                     map[int]uint64
	// prpsinfo: size, offsets of pr_pid and pr_fname.
	psSize, psPID, psFname int
	// siginfo: the offset of the union.
	siUnion int
	want    *arch.Arch
	x32     bool
	nr      int64
	nrKnown bool
	args    [6]uint64
	pc      uint64
}

// The register slots below are written from the kernel's headers
// independently of the table in coredump.go: the order of struct
// user_regs_struct / user_pt_regs / s390_regs, and sizeof(struct
// elf_prstatus) per architecture.
var cases = []regCase{
	{
		name: "x86_64", class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_X86_64,
		statusSize: 336, regOff: 112, word: 8,
		// rdi=14 rsi=13 rdx=12 r10=7 r8=9 r9=8 orig_rax=15 rip=16; rax=10
		// holds the number again after the rollback.
		regs:   map[int]uint64{14: 0xffffffff00000005, 13: 0x7ffd00001000, 12: 42, 7: 0x10, 9: 0x20, 8: 0x30, 15: 1, 10: 1, 16: 0x433872},
		psSize: 136, psPID: 24, psFname: 40, siUnion: 16,
		want: arch.X86_64, nr: 1, nrKnown: true, args: [6]uint64{0xffffffff00000005, 0x7ffd00001000, 42, 0x10, 0x20, 0x30}, pc: 0x433872,
	},
	{
		name: "x32", class: elf.ELFCLASS32, order: binary.LittleEndian, machine: elf.EM_X86_64,
		statusSize: 296, regOff: 72, word: 8,
		regs:   map[int]uint64{14: 3, 13: 4, 12: 5, 7: 6, 9: 7, 8: 8, 15: 0x40000001, 16: 0x401000},
		psSize: 124, psPID: 12, psFname: 28, siUnion: 12,
		want: arch.X86_64, x32: true, nr: 0x40000001, nrKnown: true, args: [6]uint64{3, 4, 5, 6, 7, 8}, pc: 0x401000,
	},
	{
		name: "i386", class: elf.ELFCLASS32, order: binary.LittleEndian, machine: elf.EM_386,
		statusSize: 144, regOff: 72, word: 4,
		// ebx ecx edx esi edi ebp, orig_eax=11, eip=12.
		regs:   map[int]uint64{0: 999, 1: 0xdead, 2: 42, 3: 0x11, 4: 0x22, 5: 0xffffffff, 11: 4, 6: 4, 12: 0x8049010},
		psSize: 124, psPID: 12, psFname: 28, siUnion: 12,
		want: arch.I386, nr: 4, nrKnown: true, args: [6]uint64{999, 0xdead, 42, 0x11, 0x22, 0xffffffff}, pc: 0x8049010,
	},
	{
		name: "aarch64", class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_AARCH64,
		statusSize: 392, regOff: 112, word: 8,
		// x0-x5, x8 the number, pc=32.
		regs:   map[int]uint64{0: 7, 1: 0xffff8000, 2: 3, 3: 4, 4: 5, 5: 6, 8: 64, 32: 0x400100, 31: 0x7fff0000},
		psSize: 136, psPID: 24, psFname: 40, siUnion: 16,
		want: arch.AArch64, nr: 64, nrKnown: true, args: [6]uint64{7, 0xffff8000, 3, 4, 5, 6}, pc: 0x400100,
	},
	{
		name: "arm", class: elf.ELFCLASS32, order: binary.LittleEndian, machine: elf.EM_ARM,
		statusSize: 148, regOff: 72, word: 4,
		// r0 (ORIG_r0=17 keeps the first argument), r1-r5, r7 the
		// number, pc=15.
		regs:   map[int]uint64{17: 9, 0: 9, 1: 8, 2: 7, 3: 6, 4: 5, 5: 4, 7: 4, 15: 0x10500},
		psSize: 124, psPID: 12, psFname: 28, siUnion: 12,
		want: arch.ARM, nr: 4, nrKnown: true, args: [6]uint64{9, 8, 7, 6, 5, 4}, pc: 0x10500,
	},
	{
		name: "riscv64", class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_RISCV,
		statusSize: 376, regOff: 112, word: 8,
		// pc=0, a0-a5=10-15, a7=17.
		regs:   map[int]uint64{0: 0x10078, 10: 1, 11: 2, 12: 3, 13: 4, 14: 5, 15: 6, 17: 64},
		psSize: 136, psPID: 24, psFname: 40, siUnion: 16,
		want: arch.RISCV64, nr: 64, nrKnown: true, args: [6]uint64{1, 2, 3, 4, 5, 6}, pc: 0x10078,
	},
	{
		name: "ppc64le", class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_PPC64,
		statusSize: 504, regOff: 112, word: 8,
		// gpr0 the number, orig_gpr3=34 the first argument, r4-r8,
		// nip=32.
		regs:   map[int]uint64{0: 4, 3: 11, 34: 11, 4: 12, 5: 13, 6: 14, 7: 15, 8: 16, 32: 0x10000600},
		psSize: 136, psPID: 24, psFname: 40, siUnion: 16,
		want: arch.PPC64LE, nr: 4, nrKnown: true, args: [6]uint64{11, 12, 13, 14, 15, 16}, pc: 0x10000600,
	},
	{
		name: "s390x", class: elf.ELFCLASS64, order: binary.BigEndian, machine: elf.EM_S390,
		statusSize: 336, regOff: 112, word: 8,
		// psw.mask=0 psw.addr=1, gprs at 2+N, orig_gpr2 after 16 4-byte
		// access registers (8 slots): 26.
		regs:   map[int]uint64{1: 0x1000a00, 2 + 2: 21, 26: 21, 2 + 3: 22, 2 + 4: 23, 2 + 5: 24, 2 + 6: 25, 2 + 7: 26},
		psSize: 136, psPID: 24, psFname: 40, siUnion: 16,
		want: arch.S390X, nrKnown: false, args: [6]uint64{21, 22, 23, 24, 25, 26}, pc: 0x1000a00,
	},
}

func (c regCase) notes(t testing.TB, pid int32, signo, code, errno int32, syscall int32, auditArch uint32, callAddr uint64) []note {
	o := c.order
	st := make([]byte, c.statusSize)
	o.PutUint32(st[0:], uint32(signo))
	o.PutUint16(st[12:], uint16(signo))
	pidOff := 32
	if c.regOff == 72 {
		pidOff = 24
	}
	o.PutUint32(st[pidOff:], uint32(pid))
	for i, v := range c.regs {
		if c.word == 4 {
			o.PutUint32(st[c.regOff+4*i:], uint32(v))
		} else {
			o.PutUint64(st[c.regOff+8*i:], v)
		}
	}
	ps := make([]byte, c.psSize)
	o.PutUint32(ps[c.psPID:], uint32(pid))
	copy(ps[c.psFname:], "metrics-server\x00")
	copy(ps[c.psFname+16:], "/usr/libexec/metrics-server --port 7999\x00")
	si := make([]byte, 128)
	o.PutUint32(si[0:], uint32(signo))
	o.PutUint32(si[4:], uint32(errno))
	o.PutUint32(si[8:], uint32(code))
	ptr := 8
	if c.siUnion == 12 {
		ptr = 4
		o.PutUint32(si[c.siUnion:], uint32(callAddr))
	} else {
		o.PutUint64(si[c.siUnion:], callAddr)
	}
	o.PutUint32(si[c.siUnion+ptr:], uint32(syscall))
	o.PutUint32(si[c.siUnion+ptr+4:], auditArch)
	// A second thread's status follows the dumping thread's, as the
	// kernel writes them: it must not replace the first.
	other := make([]byte, c.statusSize)
	for i := range other[c.regOff:] {
		other[c.regOff+i] = 0xee
	}
	return []note{{ntPrstatus, st}, {ntPrpsinfo, ps}, {ntSiginfo, si}, {0x202, make([]byte, 512)}, {ntPrstatus, other}}
}

func TestRegisters(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nr := int32(c.nr)
			if !c.nrKnown {
				nr = 4
			}
			b := fakeCore(t, c.class, c.order, c.machine, c.notes(t, 4242, SIGSYS, SysSeccomp, 0, nr, c.want.Audit, c.pc-2))
			core, err := Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if core.Arch != c.want || core.X32 != c.x32 {
				t.Errorf("arch %v x32 %v, want %s x32 %v", core.Arch, core.X32, c.want.Name, c.x32)
			}
			if core.PID != 4242 || core.Comm != "metrics-server" || core.Args != "/usr/libexec/metrics-server --port 7999" || core.Signal != SIGSYS {
				t.Errorf("pid %d comm %q args %q signal %d", core.PID, core.Comm, core.Args, core.Signal)
			}
			r := core.Regs
			if r == nil {
				t.Fatal("no registers")
			}
			if r.Args != c.args || r.PC != c.pc || r.Known != c.nrKnown || (c.nrKnown && r.Nr != c.nr) {
				t.Errorf("registers %+v, want args %#x pc %#x nr %d (known %v)", *r, c.args, c.pc, c.nr, c.nrKnown)
			}
			s := core.Siginfo
			if !s.Seccomp() || s.Syscall != nr || s.Arch != c.want.Audit || s.CallAddr != c.pc-2 {
				t.Errorf("siginfo %+v", s)
			}
		})
	}
}

// TestBadCores: what is not a core, or a core cut short, is an error or
// a core without the missing parts, never a panic.
func TestBadCores(t *testing.T) {
	c := cases[0]
	good := fakeCore(t, c.class, c.order, c.machine, c.notes(t, 1, SIGSYS, SysSeccomp, 0, 1, arch.AuditX86_64, 0))
	if _, err := Read(bytes.NewReader([]byte("not an ELF file at all"))); !errors.Is(err, ErrNotCore) {
		t.Errorf("text: %v", err)
	}
	exe := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(exe[16:], uint16(elf.ET_EXEC))
	if _, err := Read(bytes.NewReader(exe)); !errors.Is(err, ErrNotCore) {
		t.Errorf("an executable: %v", err)
	}
	// Cut at every length: an error, or fewer notes, never a panic.
	for n := 0; n < len(good); n += 7 {
		core, err := Read(bytes.NewReader(good[:n]))
		if err == nil && core.Regs == nil {
			t.Errorf("cut at %d: no error and no registers", n)
		}
	}
	// A short NT_PRSTATUS.
	short := fakeCore(t, c.class, c.order, c.machine, []note{{ntPrstatus, make([]byte, 100)}})
	if _, err := Read(bytes.NewReader(short)); err == nil {
		t.Error("a short NT_PRSTATUS was accepted")
	}
	// No NT_PRSTATUS at all.
	if _, err := Read(bytes.NewReader(fakeCore(t, c.class, c.order, c.machine, nil))); err == nil {
		t.Error("a core without registers was accepted")
	}
	// A machine fencer does not know: no registers, no error.
	core, err := Read(bytes.NewReader(fakeCore(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_MIPS, nil)))
	if err != nil || core.Arch != nil || core.Regs != nil {
		t.Errorf("MIPS core: %+v, %v", core, err)
	}
	// Another signal than a seccomp kill.
	segv := fakeCore(t, c.class, c.order, c.machine, c.notes(t, 1, 11, 1, 0, 0, 0, 0))
	core, err = Read(bytes.NewReader(segv))
	if err != nil || core.Siginfo.Seccomp() || core.Signal != 11 {
		t.Errorf("SIGSEGV core: %+v %v", core, err)
	}
}

func FuzzRead(f *testing.F) {
	for _, c := range cases {
		f.Add(fakeCore(f, c.class, c.order, c.machine, c.notes(f, 1, SIGSYS, SysSeccomp, 0, 1, c.want.Audit, 0)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		core, err := Read(bytes.NewReader(b))
		if err == nil && core == nil {
			t.Fatal("nil core without an error")
		}
	})
}
