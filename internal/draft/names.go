package draft

import (
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
)

// A flag set: how a flags argument's value is written with named
// constants. fields are parts of the value that hold one number each (a
// socket's type in the low 4 bits, clone's exit signal in the low byte);
// the rest of the value is bits, named from bits.
type flagSet struct {
	fields []field
	bits   []string
}

// field is a part of a flags value under mask (a constant's name or a
// number) that holds one of names.
type field struct {
	mask  string
	masks uint64
	names []string
}

// namer names values with an architecture's constants.
type namer struct{ a *arch.Arch }

// value of the named constant, ok false when a lacks it.
func (n namer) value(name string) (uint64, bool) { return n.a.Const(name) }

// enum names v with the first of names whose value it is on a.
func (n namer) enum(v uint64, names []string) (string, bool) {
	for _, name := range names {
		if k, ok := n.a.Const(name); ok && k == v {
			return name, true
		}
	}
	return "", false
}

// enumOrNumber is enum, or v in decimal.
func (n namer) enumOrNumber(v uint64, names []string) string {
	if s, ok := n.enum(v, names); ok {
		return s
	}
	return fmt.Sprint(v)
}

// flags writes v with fs's names: a name, bitor(...) of names and, for
// bits no name covers, a number; "0" for 0.
func (n namer) flags(v uint64, fs flagSet) string {
	var parts []string
	for _, f := range fs.fields {
		mask := f.masks
		if f.mask != "" {
			k, ok := n.a.Const(f.mask)
			if !ok {
				continue
			}
			mask = k
		}
		fv := v & mask
		v &^= mask
		if fv == 0 {
			if s, ok := n.enum(0, f.names); ok {
				parts = append(parts, s)
			}
			continue
		}
		parts = append(parts, n.enumOrNumber(fv, f.names))
	}
	for _, name := range fs.bits {
		k, ok := n.a.Const(name)
		if !ok || k == 0 || v&k != k {
			continue
		}
		parts = append(parts, name)
		v &^= k
	}
	if v != 0 {
		parts = append(parts, fmt.Sprint(v))
	}
	return bitor(parts)
}

// bitor writes the or of parts: "0" for none, the part alone for one.
func bitor(parts []string) string {
	switch len(parts) {
	case 0:
		return "0"
	case 1:
		return parts[0]
	}
	return "bitor(" + strings.Join(parts, ", ") + ")"
}

// signals are the standard signals' names, in number order.
var signals = []string{
	"SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
	"SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
	"SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
	"SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
}

// families are the socket families, the usual ones first (AF_UNIX rather
// than AF_LOCAL or AF_FILE).
var families = []string{"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_UNSPEC", "AF_VSOCK", "AF_ALG", "AF_XDP",
	"AF_BLUETOOTH", "AF_CAN", "AF_TIPC", "AF_KEY", "AF_APPLETALK", "AF_AX25", "AF_IPX", "AF_X25", "AF_RDS", "AF_QIPCRTR", "AF_MCTP"}

// socketTypes are socket's types, in its argument's low 4 bits.
var socketTypes = []string{"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET", "SOCK_DCCP", "SOCK_PACKET"}

// fcntlCommands are fcntl's commands (F_GETLK before F_GETLK64, which is
// the same number on 64-bit architectures).
var fcntlCommands = []string{
	"F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK", "F_SETLK", "F_SETLKW",
	"F_SETOWN", "F_GETOWN", "F_SETSIG", "F_GETSIG", "F_SETOWN_EX", "F_GETOWN_EX",
	"F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW", "F_SETLEASE", "F_GETLEASE", "F_NOTIFY",
	"F_DUPFD_CLOEXEC", "F_SETPIPE_SZ", "F_GETPIPE_SZ", "F_ADD_SEALS", "F_GET_SEALS",
	"F_GET_RW_HINT", "F_SET_RW_HINT", "F_GET_FILE_RW_HINT", "F_SET_FILE_RW_HINT",
	"F_GETLK64", "F_SETLK64", "F_SETLKW64",
}

// prctlOptions are prctl's options.
var prctlOptions = []string{
	"PR_SET_PDEATHSIG", "PR_GET_PDEATHSIG", "PR_GET_DUMPABLE", "PR_SET_DUMPABLE", "PR_GET_UNALIGN",
	"PR_SET_UNALIGN", "PR_GET_KEEPCAPS", "PR_SET_KEEPCAPS", "PR_GET_FPEMU", "PR_SET_FPEMU",
	"PR_GET_FPEXC", "PR_SET_FPEXC", "PR_GET_TIMING", "PR_SET_TIMING", "PR_SET_NAME", "PR_GET_NAME",
	"PR_GET_ENDIAN", "PR_SET_ENDIAN", "PR_GET_SECCOMP", "PR_SET_SECCOMP", "PR_CAPBSET_READ",
	"PR_CAPBSET_DROP", "PR_GET_TSC", "PR_SET_TSC", "PR_GET_SECUREBITS", "PR_SET_SECUREBITS",
	"PR_SET_TIMERSLACK", "PR_GET_TIMERSLACK", "PR_TASK_PERF_EVENTS_DISABLE", "PR_TASK_PERF_EVENTS_ENABLE",
	"PR_MCE_KILL", "PR_MCE_KILL_GET", "PR_SET_MM", "PR_SET_PTRACER", "PR_SET_CHILD_SUBREAPER",
	"PR_GET_CHILD_SUBREAPER", "PR_SET_NO_NEW_PRIVS", "PR_GET_NO_NEW_PRIVS", "PR_GET_TID_ADDRESS",
	"PR_SET_THP_DISABLE", "PR_GET_THP_DISABLE", "PR_MPX_ENABLE_MANAGEMENT", "PR_MPX_DISABLE_MANAGEMENT",
	"PR_SET_FP_MODE", "PR_GET_FP_MODE", "PR_CAP_AMBIENT", "PR_SVE_SET_VL", "PR_SVE_GET_VL",
	"PR_GET_SPECULATION_CTRL", "PR_SET_SPECULATION_CTRL", "PR_PAC_RESET_KEYS", "PR_SET_TAGGED_ADDR_CTRL",
	"PR_GET_TAGGED_ADDR_CTRL", "PR_SET_IO_FLUSHER", "PR_GET_IO_FLUSHER", "PR_SET_SYSCALL_USER_DISPATCH",
	"PR_PAC_SET_ENABLED_KEYS", "PR_PAC_GET_ENABLED_KEYS", "PR_SCHED_CORE", "PR_SME_SET_VL", "PR_SME_GET_VL",
	"PR_SET_MDWE", "PR_GET_MDWE", "PR_SET_MEMORY_MERGE", "PR_GET_MEMORY_MERGE", "PR_RISCV_V_SET_CONTROL",
	"PR_RISCV_V_GET_CONTROL", "PR_GET_AUXV", "PR_SET_VMA",
}

// ioctlRequests are the ioctl requests a service commonly makes.
var ioctlRequests = []string{
	"TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TCGETS2", "TCSETS2", "TIOCGWINSZ", "TIOCSWINSZ",
	"TIOCGPGRP", "TIOCSPGRP", "TIOCSCTTY", "TIOCNOTTY", "TIOCGPTN", "TIOCSPTLCK", "TIOCOUTQ",
	"TIOCSTI", "TCFLSH", "TCXONC", "TCSBRK", "FIONBIO", "FIOCLEX", "FIONCLEX", "FIONREAD", "FIOASYNC",
	"SIOCGIFCONF", "SIOCGIFFLAGS", "SIOCGIFINDEX", "SIOCGIFADDR", "SIOCGIFHWADDR", "SIOCGIFMTU",
	"SIOCGIFNAME", "SIOCGIFNETMASK", "SIOCGIFBRDADDR", "SIOCOUTQ", "SIOCINQ", "BLKGETSIZE64", "BLKSSZGET",
	"FS_IOC_GETFLAGS", "FS_IOC_SETFLAGS", "FICLONE", "NS_GET_USERNS",
}

// cloneBits are clone's flags, those of threads first.
var cloneBits = []string{
	"CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD", "CLONE_SYSVSEM",
	"CLONE_SETTLS", "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID", "CLONE_CHILD_SETTID",
	"CLONE_VFORK", "CLONE_PARENT", "CLONE_PTRACE", "CLONE_UNTRACED", "CLONE_PIDFD", "CLONE_IO",
	"CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID",
	"CLONE_NEWNET", "CLONE_DETACHED",
}

// openBits are open's flags besides the access mode.
var openBits = []string{
	"O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_SYNC", "O_DSYNC",
	"O_DIRECT", "O_LARGEFILE", "O_TMPFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH",
	"O_ASYNC",
}
