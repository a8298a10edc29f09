// Package coredump reads what a Linux ELF core file says about the
// syscall that killed a process: the thread's registers at the syscall
// (NT_PRSTATUS), the signal's details (NT_SIGINFO: for a seccomp kill the
// syscall number, the AUDIT_ARCH value and the address of the call) and
// the process's name and command line (NT_PRPSINFO).
//
// When a seccomp filter returns SECCOMP_RET_KILL_PROCESS (or
// SECCOMP_RET_KILL_THREAD for the last thread), the kernel rolls the
// syscall back (syscall_rollback: the return-value register gets the
// original first argument back where the two share a register) and sends
// SIGSYS with si_code SYS_SECCOMP, whose default action dumps core. So the
// argument registers in the dump are the syscall's arguments as the filter
// saw them in seccomp_data, on every architecture this package knows.
//
// The register layouts are those of the kernel's elf_gregset_t per
// architecture (arch/*/include/asm/elf.h and ptrace.h): x86_64 (and x32),
// i386, aarch64, arm, riscv64, ppc64le and s390x. Only the notes are read,
// never the memory segments, and at most MaxNotes bytes of them.
package coredump

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fencer-dev/fencer/internal/arch"
)

// MaxNotes is the most note bytes Read reads from a core file. A process
// with very many mapped files (NT_FILE) or threads could have more; Read
// then stops at the limit, which always includes the dumping thread's
// notes: the kernel writes them first.
const MaxNotes = 16 << 20

// Note types (linux/elf.h).
const (
	ntPrstatus = 1
	ntPrpsinfo = 3
	ntSiginfo  = 0x53494749
)

// SIGSYS and its si_code for a seccomp kill (SYS_SECCOMP). SIGSYS is 31 on
// every architecture this package reads.
const (
	SIGSYS     = 31
	SysSeccomp = 1
)

// Core is what a core file says about the process and the syscall.
type Core struct {
	// Arch is the architecture of the process's registers (from the ELF
	// header), nil when it is none fencer knows. X32 is set for an x32
	// process (ELFCLASS32 on x86_64), whose registers are x86_64's.
	Arch *arch.Arch
	X32  bool
	// Machine, Class and Order are the ELF header's.
	Machine elf.Machine
	Class   elf.Class
	Order   binary.ByteOrder
	// PID is the dumping thread's process ID (pr_pid), as seen in the PID
	// namespace of the process that dumped; Comm and Args its name and
	// the start of its command line (NT_PRPSINFO), "" when absent.
	PID  int
	Comm string
	Args string
	// Signal is the signal that made the dump (pr_cursig).
	Signal int
	// Siginfo is the signal's details (NT_SIGINFO), nil when the core has
	// none (kernels before 3.7).
	Siginfo *Siginfo
	// Regs holds the registers that carry a syscall on Arch; nil when
	// Arch is nil.
	Regs *SyscallRegs
}

// Siginfo is the part of a siginfo_t a seccomp kill fills in.
type Siginfo struct {
	Signo, Errno, Code int
	// For SIGSYS with Code SysSeccomp: the syscall the filter refused,
	// its AUDIT_ARCH value and the address of the syscall instruction;
	// Errno is then the SECCOMP_RET_DATA of the filter's verdict.
	Syscall  int32
	Arch     uint32
	CallAddr uint64
}

// Seccomp reports whether the signal was a seccomp kill (SIGSYS,
// SYS_SECCOMP).
func (s *Siginfo) Seccomp() bool { return s != nil && s.Signo == SIGSYS && s.Code == SysSeccomp }

// SyscallRegs are the registers of a syscall on the core's architecture.
type SyscallRegs struct {
	// Nr is the syscall number as the registers hold it; Known is false
	// where they do not (s390x keeps it outside the general registers:
	// use Siginfo.Syscall).
	Nr    int64
	Known bool
	// Args are the six arguments, zero-extended from the register width.
	Args [6]uint64
	// PC is the instruction pointer: after the syscall instruction.
	PC uint64
}

// layout says where an architecture keeps a syscall's registers in
// NT_PRSTATUS: the offset of pr_reg, the register size, and the indexes of
// the number, the arguments and the PC within pr_reg. nr < 0 means the
// number is not in pr_reg.
type layout struct {
	regOffset int
	word      int
	nregs     int
	nr        int
	args      [6]int
	pc        int
	// prpsinfo: offsets of pr_pid and pr_fname (pr_psargs follows
	// pr_fname's 16 bytes).
	psPID, psFname int
	// siginfo: the offset of the union (_sigsys) in siginfo_t.
	siUnion int
}

// Offsets of struct elf_prstatus common to every architecture of one
// word size: pr_pid, and pr_reg (after four struct timevals).
const (
	prPID64, prReg64 = 32, 112
	prPID32, prReg32 = 24, 72
)

var layouts = map[string]layout{
	// struct user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax
	// rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es
	// fs gs. Arguments rdi rsi rdx r10 r8 r9.
	"x86_64": {regOffset: prReg64, word: 8, nregs: 27, nr: 15, args: [6]int{14, 13, 12, 7, 9, 8}, pc: 16, psPID: 24, psFname: 40, siUnion: 16},
	// The same registers behind a 32-bit header (compat_elf_prstatus of
	// an x32 process).
	"x32": {regOffset: prReg32, word: 8, nregs: 27, nr: 15, args: [6]int{14, 13, 12, 7, 9, 8}, pc: 16, psPID: 12, psFname: 28, siUnion: 12},
	// ebx ecx edx esi edi ebp eax ds es fs gs orig_eax eip cs eflags esp
	// ss. __kernel_uid_t is 16 bits in i386's elf_prpsinfo.
	"i386": {regOffset: prReg32, word: 4, nregs: 17, nr: 11, args: [6]int{0, 1, 2, 3, 4, 5}, pc: 12, psPID: 12, psFname: 28, siUnion: 12},
	// struct user_pt_regs: x0-x30 sp pc pstate; the number in x8.
	"aarch64": {regOffset: prReg64, word: 8, nregs: 34, nr: 8, args: [6]int{0, 1, 2, 3, 4, 5}, pc: 32, psPID: 24, psFname: 40, siUnion: 16},
	// r0-r15 cpsr ORIG_r0; EABI: the number in r7. arg0 is ORIG_r0, which
	// the return value cannot have overwritten.
	"arm": {regOffset: prReg32, word: 4, nregs: 18, nr: 7, args: [6]int{17, 1, 2, 3, 4, 5}, pc: 15, psPID: 12, psFname: 28, siUnion: 12},
	// struct user_regs_struct: pc ra sp gp tp t0-t2 s0 s1 a0-a7 s2-s11
	// t3-t6; arguments a0-a5, the number in a7.
	"riscv64": {regOffset: prReg64, word: 8, nregs: 32, nr: 17, args: [6]int{10, 11, 12, 13, 14, 15}, pc: 0, psPID: 24, psFname: 40, siUnion: 16},
	// gpr0-31 nip msr orig_gpr3 ctr link xer ccr softe trap dar dsisr
	// result (48 slots); arguments orig_gpr3 r4-r8, the number in r0.
	"ppc64le": {regOffset: prReg64, word: 8, nregs: 48, nr: 0, args: [6]int{34, 4, 5, 6, 7, 8}, pc: 32, psPID: 24, psFname: 40, siUnion: 16},
	// s390_regs: psw (mask, addr), gprs[16], acrs[16] (4 bytes each),
	// orig_gpr2. Slots of 8 bytes: psw.mask 0, psw.addr 1, gpr N at 2+N,
	// orig_gpr2 at 26 (after 16 4-byte access registers). The number is
	// in the interruption code, which pr_reg does not hold.
	"s390x": {regOffset: prReg64, word: 8, nregs: 27, nr: -1, args: [6]int{26, 5, 6, 7, 8, 9}, pc: 1, psPID: 24, psFname: 40, siUnion: 16},
}

// archOf maps the ELF header to an architecture and its layout name.
func archOf(f *elf.File) (*arch.Arch, string, bool) {
	le := f.ByteOrder == binary.LittleEndian
	switch {
	case f.Machine == elf.EM_X86_64 && f.Class == elf.ELFCLASS64 && le:
		return arch.X86_64, "x86_64", false
	case f.Machine == elf.EM_X86_64 && f.Class == elf.ELFCLASS32 && le:
		return arch.X86_64, "x32", true
	case f.Machine == elf.EM_386 && f.Class == elf.ELFCLASS32 && le:
		return arch.I386, "i386", false
	case f.Machine == elf.EM_AARCH64 && f.Class == elf.ELFCLASS64 && le:
		return arch.AArch64, "aarch64", false
	case f.Machine == elf.EM_ARM && f.Class == elf.ELFCLASS32 && le:
		return arch.ARM, "arm", false
	case f.Machine == elf.EM_RISCV && f.Class == elf.ELFCLASS64 && le:
		return arch.RISCV64, "riscv64", false
	case f.Machine == elf.EM_PPC64 && f.Class == elf.ELFCLASS64 && le:
		return arch.PPC64LE, "ppc64le", false
	case f.Machine == elf.EM_S390 && f.Class == elf.ELFCLASS64 && !le:
		return arch.S390X, "s390x", false
	}
	return nil, "", false
}

// ErrNotCore is matched (errors.Is) by Read's error for a file that is
// not an ELF core file.
var ErrNotCore = errors.New("not an ELF core file")

// Open reads the core file at path.
func Open(path string) (*Core, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open core file: %w", err)
	}
	defer f.Close()
	c, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("core file %s: %w", path, err)
	}
	return c, nil
}

// Read reads a core file's notes.
func Read(r io.ReaderAt) (*Core, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCore, err)
	}
	if f.Type != elf.ET_CORE {
		return nil, fmt.Errorf("%w: the ELF type is %v", ErrNotCore, f.Type)
	}
	c := &Core{Machine: f.Machine, Class: f.Class, Order: f.ByteOrder}
	a, name, x32 := archOf(f)
	c.Arch, c.X32 = a, x32
	lay, known := layouts[name]
	budget := MaxNotes
	sawStatus := false
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || budget <= 0 {
			continue
		}
		size := p.Filesz
		if size > uint64(budget) {
			size = uint64(budget)
		}
		budget -= int(size)
		data := make([]byte, size)
		if n, err := p.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(data)) {
			if n == 0 {
				return nil, fmt.Errorf("read the notes: %w", err)
			}
			data = data[:n] // a truncated core: read what is there
		}
		for len(data) >= 12 {
			namesz := int(f.ByteOrder.Uint32(data[0:]))
			descsz := int(f.ByteOrder.Uint32(data[4:]))
			typ := f.ByteOrder.Uint32(data[8:])
			off := 12 + align4(namesz)
			if namesz < 0 || descsz < 0 || off > len(data) || descsz > len(data)-off {
				break // a truncated note ends the segment
			}
			noteName := string(bytes.TrimRight(data[12:12+namesz], "\x00"))
			desc := data[off : off+descsz]
			data = data[min(len(data), off+align4(descsz)):]
			if noteName != "CORE" || !known {
				continue
			}
			switch typ {
			case ntPrstatus:
				// The dumping thread's comes first; the others follow.
				if sawStatus {
					continue
				}
				sawStatus = true
				if err := c.readStatus(desc, lay); err != nil {
					return nil, err
				}
			case ntPrpsinfo:
				c.readPsinfo(desc, lay)
			case ntSiginfo:
				c.readSiginfo(desc, lay)
			}
		}
	}
	if known && !sawStatus {
		return nil, errors.New("the core has no NT_PRSTATUS note: no registers")
	}
	return c, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// readStatus reads the dumping thread's NT_PRSTATUS.
func (c *Core) readStatus(desc []byte, lay layout) error {
	if len(desc) < lay.regOffset+lay.nregs*lay.word {
		return fmt.Errorf("NT_PRSTATUS is %d bytes, too short for %d registers at %d", len(desc), lay.nregs, lay.regOffset)
	}
	c.Signal = int(c.Order.Uint16(desc[12:]))
	pidOff := prPID64
	if lay.regOffset == prReg32 {
		pidOff = prPID32
	}
	c.PID = int(int32(c.Order.Uint32(desc[pidOff:])))
	reg := func(i int) uint64 {
		b := desc[lay.regOffset+i*lay.word:]
		if lay.word == 4 {
			return uint64(c.Order.Uint32(b))
		}
		return c.Order.Uint64(b)
	}
	r := &SyscallRegs{PC: reg(lay.pc)}
	if lay.nr >= 0 {
		r.Nr, r.Known = int64(reg(lay.nr)), true
		if lay.word == 4 {
			r.Nr = int64(int32(reg(lay.nr)))
		}
	}
	for i, idx := range lay.args {
		r.Args[i] = reg(idx)
	}
	c.Regs = r
	return nil
}

// readPsinfo reads NT_PRPSINFO's pr_fname and pr_psargs; a short note
// leaves them empty.
func (c *Core) readPsinfo(desc []byte, lay layout) {
	if len(desc) < lay.psFname+16 {
		return
	}
	c.Comm = cString(desc[lay.psFname : lay.psFname+16])
	if end := min(len(desc), lay.psFname+16+80); end > lay.psFname+16 {
		c.Args = cString(desc[lay.psFname+16 : end])
	}
}

// readSiginfo reads NT_SIGINFO: si_signo, si_errno, si_code, then for
// SIGSYS the _sigsys member of the union: _call_addr, _syscall, _arch.
func (c *Core) readSiginfo(desc []byte, lay layout) {
	if len(desc) < 12 {
		return
	}
	s := &Siginfo{
		Signo: int(int32(c.Order.Uint32(desc[0:]))),
		Errno: int(int32(c.Order.Uint32(desc[4:]))),
		Code:  int(int32(c.Order.Uint32(desc[8:]))),
	}
	ptr := 8
	if lay.siUnion == 12 {
		ptr = 4
	}
	if s.Signo == SIGSYS && len(desc) >= lay.siUnion+ptr+8 {
		u := desc[lay.siUnion:]
		if ptr == 8 {
			s.CallAddr = c.Order.Uint64(u)
		} else {
			s.CallAddr = uint64(c.Order.Uint32(u))
		}
		s.Syscall = int32(c.Order.Uint32(u[ptr:]))
		s.Arch = c.Order.Uint32(u[ptr+4:])
	}
	c.Siginfo = s
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
