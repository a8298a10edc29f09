package arch

import (
	"maps"
	"slices"
)

// Hand-maintained additions to the tables generated from golang.org/x/sys.
// Everything here is missing from (or wrong for seccomp in) x/sys v0.50.0;
// TestSupplementDoesNotShadowXSys fails if a later x/sys starts to define one
// of these names itself, so the entry can be reviewed and dropped.

// extraSyscalls are syscalls x/sys does not list, by arch name.
//
// ARM's private syscalls live at __ARM_NR_BASE = 0x0f0000 (kernel
// arch/arm/include/uapi/asm/unistd.h: __ARM_NR_breakpoint = base+1,
// cacheflush +2, usr26 +3, usr32 +4, set_tls +5, get_tls +6). x/sys's arm
// table stops at the generic numbers; libseccomp and go-seccomp-bpf use the
// same names and numbers as here.
var extraSyscalls = map[string]map[string]int{
	"arm": {
		"breakpoint": 0x0f0001,
		"cacheflush": 0x0f0002,
		"usr26":      0x0f0003,
		"usr32":      0x0f0004,
		"set_tls":    0x0f0005,
		"get_tls":    0x0f0006,
	},
}

// futexConsts are the futex(2) operations and flags of
// include/uapi/linux/futex.h, the same on every architecture. x/sys does not
// define them.
var futexConsts = map[string]uint64{
	"FUTEX_WAIT":            0,
	"FUTEX_WAKE":            1,
	"FUTEX_FD":              2,
	"FUTEX_REQUEUE":         3,
	"FUTEX_CMP_REQUEUE":     4,
	"FUTEX_WAKE_OP":         5,
	"FUTEX_LOCK_PI":         6,
	"FUTEX_UNLOCK_PI":       7,
	"FUTEX_TRYLOCK_PI":      8,
	"FUTEX_WAIT_BITSET":     9,
	"FUTEX_WAKE_BITSET":     10,
	"FUTEX_WAIT_REQUEUE_PI": 11,
	"FUTEX_CMP_REQUEUE_PI":  12,
	"FUTEX_LOCK_PI2":        13,
	"FUTEX_PRIVATE_FLAG":    128,
	"FUTEX_CLOCK_REALTIME":  256,

	"FUTEX_WAIT_PRIVATE":            0 | 128,
	"FUTEX_WAKE_PRIVATE":            1 | 128,
	"FUTEX_REQUEUE_PRIVATE":         3 | 128,
	"FUTEX_CMP_REQUEUE_PRIVATE":     4 | 128,
	"FUTEX_WAKE_OP_PRIVATE":         5 | 128,
	"FUTEX_LOCK_PI_PRIVATE":         6 | 128,
	"FUTEX_UNLOCK_PI_PRIVATE":       7 | 128,
	"FUTEX_TRYLOCK_PI_PRIVATE":      8 | 128,
	"FUTEX_WAIT_BITSET_PRIVATE":     9 | 128,
	"FUTEX_WAKE_BITSET_PRIVATE":     10 | 128,
	"FUTEX_WAIT_REQUEUE_PI_PRIVATE": 11 | 128,
	"FUTEX_CMP_REQUEUE_PI_PRIVATE":  12 | 128,
	"FUTEX_LOCK_PI2_PRIVATE":        13 | 128,

	// futex_wait/futex_wake/futex_waitv flags.
	"FUTEX2_SIZE_U8":  0x00,
	"FUTEX2_SIZE_U16": 0x01,
	"FUTEX2_SIZE_U32": 0x02,
	"FUTEX2_SIZE_U64": 0x03,
	"FUTEX2_NUMA":     0x04,
	"FUTEX2_PRIVATE":  128,
}

// x86ArchPrctlConsts are the arch_prctl(2) codes of
// arch/x86/include/uapi/asm/prctl.h. x/sys does not define them. They apply
// to x86_64 and i386 (which has arch_prctl since Linux 4.12).
var x86ArchPrctlConsts = map[string]uint64{
	"ARCH_SET_GS":               0x1001,
	"ARCH_SET_FS":               0x1002,
	"ARCH_GET_FS":               0x1003,
	"ARCH_GET_GS":               0x1004,
	"ARCH_GET_CPUID":            0x1011,
	"ARCH_SET_CPUID":            0x1012,
	"ARCH_GET_XCOMP_SUPP":       0x1021,
	"ARCH_GET_XCOMP_PERM":       0x1022,
	"ARCH_REQ_XCOMP_PERM":       0x1023,
	"ARCH_GET_XCOMP_GUEST_PERM": 0x1024,
	"ARCH_REQ_XCOMP_GUEST_PERM": 0x1025,
	"ARCH_XCOMP_TILECFG":        17,
	"ARCH_XCOMP_TILEDATA":       18,
	"ARCH_MAP_VDSO_X32":         0x2001,
	"ARCH_MAP_VDSO_32":          0x2002,
	"ARCH_MAP_VDSO_64":          0x2003,
	"ARCH_GET_UNTAG_MASK":       0x4001,
	"ARCH_ENABLE_TAGGED_ADDR":   0x4002,
	"ARCH_GET_MAX_TAG_BITS":     0x4003,
	"ARCH_FORCE_TAGGED_SVA":     0x4004,
	"ARCH_SHSTK_ENABLE":         0x5001,
	"ARCH_SHSTK_DISABLE":        0x5002,
	"ARCH_SHSTK_LOCK":           0x5003,
	"ARCH_SHSTK_UNLOCK":         0x5004,
	"ARCH_SHSTK_STATUS":         0x5005,
	"ARCH_SHSTK_SHSTK":          1 << 0,
	"ARCH_SHSTK_WRSS":           1 << 1,
}

// kernelOLargefile is the kernel's O_LARGEFILE bit per arch, which overrides
// x/sys's value.
//
// x/sys follows glibc, whose O_LARGEFILE is 0 on 64-bit targets because
// glibc never passes it there. The kernel still defines and accepts the bit
// (asm-generic/fcntl.h 00100000; arm64 and arm 0400000; powerpc 0200000), and
// other callers do pass it: musl ORs O_LARGEFILE into every open on every
// arch, and seccomp sees the raw flags. A policy must be able to name the bit
// to mask it, so the kernel's value is used. On i386 and arm x/sys already
// agrees with the kernel.
var kernelOLargefile = map[string]uint64{
	"x86_64":  0x8000,
	"aarch64": 0x20000,
	"i386":    0x8000,
	"arm":     0x20000,
	"riscv64": 0x8000,
	"ppc64le": 0x10000,
	"s390x":   0x8000,
}

// underscoreConsts are the kernel's spellings with leading underscores
// that x/sys spells without, each with how its value follows from x/sys's
// constants on an architecture: the kernel's <linux/wait.h> has __WALL,
// which glibc and x/sys call WALL. The underscores are not dropped in
// general, because a name with them is not always the constant without:
// the kernel's __O_TMPFILE is the bit that O_TMPFILE (__O_TMPFILE |
// O_DIRECTORY) adds to O_DIRECTORY, __O_SYNC the bit O_SYNC (__O_SYNC |
// O_DSYNC) adds to O_DSYNC, and __SO_ACCEPTCON a socket state flag, not the
// socket option SO_ACCEPTCON. Each entry is the name without underscores
// and the bits of another name it leaves out ("" for none).
var underscoreConsts = map[string]struct{ name, without string }{
	"__WALL":      {"WALL", ""},
	"__WCLONE":    {"WCLONE", ""},
	"__WNOTHREAD": {"WNOTHREAD", ""},
	"__O_TMPFILE": {"O_TMPFILE", "O_DIRECTORY"},
	"__O_SYNC":    {"O_SYNC", "O_DSYNC"},
}

// UnderscoreNames returns the kernel spellings with leading underscores
// that Const knows (underscoreConsts), sorted.
func UnderscoreNames() []string { return slices.Sorted(maps.Keys(underscoreConsts)) }

// extraConsts returns the hand-maintained constants for a.
func extraConsts(a *Arch) map[string]uint64 {
	m := make(map[string]uint64, len(futexConsts)+len(x86ArchPrctlConsts)+len(underscoreConsts)+1)
	for k, u := range underscoreConsts {
		v, ok := a.generatedConst(u.name)
		if !ok {
			continue
		}
		if u.without != "" {
			w, ok := a.generatedConst(u.without)
			if !ok {
				continue
			}
			v &^= w
		}
		m[k] = v
	}
	for k, v := range futexConsts {
		m[k] = v
	}
	if a.Name == "x86_64" || a.Name == "i386" {
		for k, v := range x86ArchPrctlConsts {
			m[k] = v
		}
	}
	if v, ok := kernelOLargefile[a.Name]; ok {
		m["O_LARGEFILE"] = v
	}
	return m
}
