// Package arch describes the CPU architectures fencer compiles filters for:
// their AUDIT_ARCH value, byte order and word size, syscall numbers, named
// constants and the width the kernel reads each syscall argument with.
//
// An architecture is a value, never a build tag: every table is compiled
// into every binary, so a policy for s390x can be planned on x86_64.
package arch

import (
	"encoding/binary"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Arch is one architecture.
type Arch struct {
	// Name is the name fencer uses (uname -m spelling): x86_64, aarch64,
	// i386, arm, riscv64, ppc64le, s390x.
	Name string
	// Audit is the AUDIT_ARCH_* value seccomp_data.arch carries.
	Audit uint32
	// Order is the byte order of seccomp_data and of sock_filter.
	Order binary.ByteOrder
	// Bits is the width of a register: 32 or 64. On 32-bit architectures
	// every argument is compared on its low word only.
	Bits int
	// X32 is true on x86_64, whose syscall numbers with bit 30 set belong to
	// the x32 ABI.
	X32 bool

	gen   generated // the generated tables, built on first use
	once  sync.Once
	built atomic.Bool
	t     tables

	constsOnce  sync.Once
	extraConsts map[string]uint64

	widthsOnce sync.Once
	widthSpecs map[specKey]*argSpec
}

// AUDIT_ARCH_* values (linux/audit.h).
const (
	AuditX86_64  = 0xc000003e
	AuditAArch64 = 0xc00000b7
	AuditI386    = 0x40000003
	AuditARM     = 0x40000028
	AuditRISCV64 = 0xc00000f3
	AuditPPC64LE = 0xc0000015
	AuditS390X   = 0x80000016
)

// The supported architectures.
var (
	X86_64  = &Arch{Name: "x86_64", Audit: AuditX86_64, Order: binary.LittleEndian, Bits: 64, X32: true, gen: generated{syscallsX86_64, constDiffsX86_64[:]}}
	AArch64 = &Arch{Name: "aarch64", Audit: AuditAArch64, Order: binary.LittleEndian, Bits: 64, gen: generated{syscallsAArch64, constDiffsAArch64[:]}}
	I386    = &Arch{Name: "i386", Audit: AuditI386, Order: binary.LittleEndian, Bits: 32, gen: generated{syscallsI386, constDiffsI386[:]}}
	ARM     = &Arch{Name: "arm", Audit: AuditARM, Order: binary.LittleEndian, Bits: 32, gen: generated{syscallsARM, constDiffsARM[:]}}
	RISCV64 = &Arch{Name: "riscv64", Audit: AuditRISCV64, Order: binary.LittleEndian, Bits: 64, gen: generated{syscallsRISCV64, constDiffsRISCV64[:]}}
	PPC64LE = &Arch{Name: "ppc64le", Audit: AuditPPC64LE, Order: binary.LittleEndian, Bits: 64, gen: generated{syscallsPPC64LE, constDiffsPPC64LE[:]}}
	S390X   = &Arch{Name: "s390x", Audit: AuditS390X, Order: binary.BigEndian, Bits: 64, gen: generated{syscallsS390X, constDiffsS390X[:]}}
)

var all = []*Arch{X86_64, AArch64, I386, ARM, RISCV64, PPC64LE, S390X}

// All returns the supported architectures in a fixed order.
func All() []*Arch { return append([]*Arch(nil), all...) }

// Names returns the names of All.
func Names() []string {
	n := make([]string, len(all))
	for i, a := range all {
		n[i] = a.Name
	}
	return n
}

var aliases = map[string]string{
	"amd64": "x86_64", "x86-64": "x86_64", "x64": "x86_64",
	"arm64": "aarch64",
	"386":   "i386", "i486": "i386", "i586": "i386", "i686": "i386", "x86": "i386",
	"armv7l": "arm", "armv7": "arm", "armv6l": "arm", "armhf": "arm", "armel": "arm",
	"riscv":   "riscv64",
	"ppc64el": "ppc64le", "powerpc64le": "ppc64le",
}

// Lookup finds an architecture by fencer's name, GOARCH or a uname -m
// spelling.
func Lookup(name string) (*Arch, bool) {
	if a, ok := aliases[name]; ok {
		name = a
	}
	for _, a := range all {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}

// Syscall returns the number of the named syscall on a. Aliases are
// accepted (fstatat on aarch64 is newfstatat).
func (a *Arch) Syscall(name string) (int, bool) {
	nr, ok := a.tables().syscalls[name]
	return nr, ok
}

// SyscallName returns the canonical name of syscall number nr on a.
func (a *Arch) SyscallName(nr int) (string, bool) {
	n, ok := a.tables().names[nr]
	return n, ok
}

// SyscallNames returns every syscall name a knows, aliases included, sorted.
func (a *Arch) SyscallNames() []string { return slices.Sorted(maps.Keys(a.tables().syscalls)) }

// Const returns the value of a named constant (O_RDONLY, SOCK_CLOEXEC, ...)
// on a. The constants come from golang.org/x/sys/unix (zconsts.go) plus
// supplement.go, which wins. A negative constant (AT_FDCWD, RUSAGE_CHILDREN)
// is its 64-bit two's complement; compare it on the argument's width
// (ArgWidth).
func (a *Arch) Const(name string) (uint64, bool) {
	if v, ok := a.consts()[name]; ok {
		return v, true
	}
	return a.generatedConst(name)
}

// ConstNames returns every constant name a knows, sorted.
func (a *Arch) ConstNames() []string {
	extra := a.consts()
	names := slices.Collect(maps.Keys(extra))
	for i := range constTable {
		if _, absent := a.diff(i); !absent {
			names = append(names, constTable[i].name)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(names)))
}
