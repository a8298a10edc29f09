package oci

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
)

// scmpArches maps libseccomp's architecture tokens (SCMP_ARCH_*) to
// fencer's architectures; "" for one fencer does not support.
var scmpArches = map[string]string{
	"SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X86": "i386", "SCMP_ARCH_AARCH64": "aarch64",
	"SCMP_ARCH_ARM": "arm", "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_PPC64LE": "ppc64le",
	"SCMP_ARCH_S390X": "s390x",
	"SCMP_ARCH_X32":   "", "SCMP_ARCH_MIPS": "", "SCMP_ARCH_MIPS64": "", "SCMP_ARCH_MIPS64N32": "",
	"SCMP_ARCH_MIPSEL": "", "SCMP_ARCH_MIPSEL64": "", "SCMP_ARCH_MIPSEL64N32": "", "SCMP_ARCH_PPC": "",
	"SCMP_ARCH_PPC64": "", "SCMP_ARCH_S390": "", "SCMP_ARCH_PARISC": "", "SCMP_ARCH_PARISC64": "",
	"SCMP_ARCH_LOONGARCH64": "", "SCMP_ARCH_M68K": "", "SCMP_ARCH_SH": "", "SCMP_ARCH_SHEB": "",
}

// ScmpArch is the SCMP_ARCH_* token of a fencer architecture.
func ScmpArch(a *arch.Arch) string {
	for k, v := range scmpArches {
		if v == a.Name {
			return k
		}
	}
	return ""
}

// nativeNames are the names moby compares includes.arches and
// excludes.arches with: libseccomp's name of the architecture the daemon
// runs on (goToNative in moby's seccomp package), by fencer architecture.
var nativeNames = map[string]string{
	"x86_64": "amd64", "aarch64": "arm64", "i386": "x86", "arm": "arm",
	"riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x",
}

// otherNatives are the other architecture names a profile may use in
// includes and excludes: libseccomp's, for architectures fencer does not
// support (x32 is never a daemon's, yet Docker's profile names it).
var otherNatives = []string{"x32", "mips", "mipsel", "mips64", "mips64n32", "mipsel64", "mipsel64n32",
	"mips3l64n32", "mipsle", "ppc", "ppc64", "s390", "parisc", "parisc64", "loong64", "loongarch64",
	"m68k", "sh", "sheb"}

// capabilities are Linux's capabilities (linux/capability.h), for
// includes.caps and excludes.caps.
var capabilities = strings.Fields(`CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER
	CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE
	CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE
	CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT
	CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE
	CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG
	CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE`)

// DockerDefaultCaps are the capabilities a container gets from Docker
// without --cap-add or --cap-drop (moby's oci/caps.DefaultCapabilities):
// the defaults of the imported capability variables.
var DockerDefaultCaps = strings.Fields(`CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD
	CAP_NET_RAW CAP_SETGID CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT
	CAP_KILL CAP_AUDIT_WRITE`)

// CapVariable is the name of the variable that says whether the
// container has capability c: cap_sys_admin for CAP_SYS_ADMIN.
func CapVariable(c string) string { return strings.ToLower(c) }

// actionKind is what a SCMP_ACT_* token means for fencer.
type actionKind struct {
	// fencer is the action's spelling in the language; "errno" takes
	// the errno value, "" means fencer has no such action.
	fencer string
	// why is the reason when fencer has none.
	why string
}

var scmpActions = map[string]actionKind{
	"SCMP_ACT_ALLOW":        {fencer: "allow"},
	"SCMP_ACT_LOG":          {fencer: "log"},
	"SCMP_ACT_ERRNO":        {fencer: "errno"},
	"SCMP_ACT_TRAP":         {fencer: "trap"},
	"SCMP_ACT_KILL":         {fencer: "kill_thread"}, // libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD
	"SCMP_ACT_KILL_THREAD":  {fencer: "kill_thread"},
	"SCMP_ACT_KILL_PROCESS": {fencer: "kill_process"},
	"SCMP_ACT_TRACE": {why: "SCMP_ACT_TRACE hands the call to a ptrace tracer (and fails it with ENOSYS " +
		"when there is none); fencer has no tracer action. Write the entry with SCMP_ACT_ERRNO and " +
		"\"errnoRet\": 38 (ENOSYS) for what it does without a tracer, or leave it out."},
	"SCMP_ACT_NOTIFY": {why: "SCMP_ACT_NOTIFY hands the call to a user-space agent at listenerPath; " +
		"fencer's policies have no notification action (fencer uses the listener itself, for exec once)."},
}

// scmpOps are the comparisons, SCMP_CMP_*, as fencer writes them.
var scmpOps = map[string]string{
	"SCMP_CMP_NE": "!=", "SCMP_CMP_LT": "<", "SCMP_CMP_LE": "<=", "SCMP_CMP_EQ": "==",
	"SCMP_CMP_GE": ">=", "SCMP_CMP_GT": ">", "SCMP_CMP_MASKED_EQ": "masked",
}

// errnoNames spells the errno values that have one name and one value on
// every architecture fencer supports.
var errnoNames = map[uint64]string{1: "EPERM", 2: "ENOENT", 13: "EACCES", 22: "EINVAL", 38: "ENOSYS"}

// KernelVersion is a kernel release as minKernel spells it: 4.8, 5.10.1.
type KernelVersion [3]int

// ParseKernel reads "MAJOR.MINOR[.PATCH]" and ignores what follows the
// numbers (5.10.0-28-amd64), as moby does for the running kernel.
func ParseKernel(s string) (KernelVersion, error) {
	var v KernelVersion
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return v, fmt.Errorf("%q is not a kernel version such as 4.8 or 5.10.1", s)
	}
	for i, p := range parts {
		digits := p
		if i == len(parts)-1 {
			if end := strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }); end >= 0 {
				digits = p[:end]
			}
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 {
			return v, fmt.Errorf("%q is not a kernel version such as 4.8 or 5.10.1", s)
		}
		v[i] = n
	}
	return v, nil
}

// AtLeast reports whether v is min or later.
func (v KernelVersion) AtLeast(min KernelVersion) bool {
	for i := range v {
		if v[i] != min[i] {
			return v[i] > min[i]
		}
	}
	return true
}
