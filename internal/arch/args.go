package arch

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// syscallArgsTSV is data/syscall-args.tsv: the declared type and width of
// every argument of the kernel's syscall entry points (include/linux/
// syscalls.h), keyed by entry name. See data/README.md.
//
//go:embed data/syscall-args.tsv
var syscallArgsTSV string

// argCell is one argument of an entry point.
type argCell struct {
	decl   string // the C declaration, e.g. "umode_t mode"
	width  int    // 32 or 64, as the table gives it
	unsure bool   // the table marks the width with '?'
}

// argRow is one entry point.
type argRow struct {
	nargs int // -1 when the table does not know the arguments
	args  [6]argCell
}

// syscallArgsExtraTSV is data/syscall-args-extra.tsv: rows, in the same
// format, for entry points syscall-args.tsv leaves unresolved or lacks
// (arch-specific syscalls of s390x, ppc64le, i386 and arm). See
// data/README.md.
//
//go:embed data/syscall-args-extra.tsv
var syscallArgsExtraTSV string

// argTable is syscall-args.tsv with syscall-args-extra.tsv merged in,
// parsed on first use.
var argTable = sync.OnceValue(func() map[string]argRow {
	return mustParseArgTable(syscallArgsTSV, syscallArgsExtraTSV)
})

func mustParseArgTable(tsv, extra string) map[string]argRow {
	t, err := parseArgTable(tsv)
	if err != nil {
		panic(fmt.Sprintf("arch: embedded data/syscall-args.tsv: %v", err))
	}
	x, err := parseArgTable(extra)
	if err != nil {
		panic(fmt.Sprintf("arch: embedded data/syscall-args-extra.tsv: %v", err))
	}
	if err := mergeArgTables(t, x); err != nil {
		panic(fmt.Sprintf("arch: embedded data/syscall-args-extra.tsv: %v", err))
	}
	return t
}

// mergeArgTables adds the rows of extra to t: each must be missing from t
// or unresolved there (nargs ?), and resolved itself.
func mergeArgTables(t, extra map[string]argRow) error {
	for name, row := range extra {
		if row.nargs < 0 {
			return fmt.Errorf("row %q is not resolved", name)
		}
		if old, ok := t[name]; ok && old.nargs >= 0 {
			return fmt.Errorf("row %q is resolved in syscall-args.tsv already", name)
		}
		t[name] = row
	}
	return nil
}

func parseArgTable(tsv string) (map[string]argRow, error) {
	lines := strings.Split(strings.TrimRight(tsv, "\n"), "\n")
	const header = "name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5"
	if len(lines) == 0 || lines[0] != header {
		return nil, fmt.Errorf("header is not %q", header)
	}
	t := make(map[string]argRow, len(lines)-1)
	for i, line := range lines[1:] {
		lineNo := i + 2
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			return nil, fmt.Errorf("line %d: %d fields, want 8", lineNo, len(f))
		}
		name := f[0]
		if _, dup := t[name]; dup {
			return nil, fmt.Errorf("line %d: duplicate row %q", lineNo, name)
		}
		row := argRow{nargs: -1}
		if f[1] != "?" {
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 || n > 6 {
				return nil, fmt.Errorf("line %d (%s): bad nargs %q", lineNo, name, f[1])
			}
			row.nargs = n
		}
		for j, cell := range f[2:] {
			if row.nargs < 0 || j >= row.nargs {
				if cell != "" {
					return nil, fmt.Errorf("line %d (%s): arg%d %q beyond nargs %s", lineNo, name, j, cell, f[1])
				}
				continue
			}
			c, err := parseArgCell(cell)
			if err != nil {
				return nil, fmt.Errorf("line %d (%s) arg%d: %w", lineNo, name, j, err)
			}
			row.args[j] = c
		}
		t[name] = row
	}
	return t, nil
}

func parseArgCell(cell string) (argCell, error) {
	decl, w, ok := strings.Cut(cell, "|")
	if !ok || decl == "" {
		return argCell{}, fmt.Errorf("cell %q is not TYPE NAME|WIDTH", cell)
	}
	c := argCell{decl: decl}
	w, c.unsure = strings.CutSuffix(w, "?")
	switch w {
	case "32":
		c.width = 32
	case "64":
		c.width = 64
	default:
		return argCell{}, fmt.Errorf("cell %q: width %q is not 32 or 64", cell, w)
	}
	return c, nil
}

func (c argCell) pointer() bool { return strings.Contains(c.decl, "*") }

// hasType reports whether the declaration names one of the types (as a
// whole word).
func (c argCell) hasType(types ...string) bool {
	for _, tok := range strings.Fields(c.decl) {
		for _, t := range types {
			if tok == t {
				return true
			}
		}
	}
	return false
}

// narrow16 reports whether the kernel truncates the argument to 16 bits:
// umode_t, old_uid_t and old_gid_t are unsigned short, and the
// SYSCALL_DEFINE wrapper casts the register to the declared type.
func (c argCell) narrow16() bool {
	return !c.pointer() && c.hasType("umode_t", "old_uid_t", "old_gid_t")
}

// wide64 reports whether the argument is 64 bits even on a 32-bit
// architecture, where the syscall ABI splits it over two registers (and may
// pad to an even register pair), so argument positions no longer match the
// prototype.
func (c argCell) wide64() bool {
	return !c.pointer() && (c.hasType("loff_t", "u64", "__u64", "s64", "__s64") ||
		strings.Contains(c.decl, "long long"))
}

// Entry names. The table is keyed by the kernel's entry point (sys_NAME),
// which differs from the syscall's table name on some architectures.
var (
	// entry64 maps table names to entry names on each 64-bit arch.
	entry64 = map[string]map[string]string{
		"x86_64": {
			"stat": "newstat", "fstat": "newfstat", "lstat": "newlstat",
			"uname": "newuname", "sendfile": "sendfile64", "umount2": "umount",
		},
		// asm-generic/unistd.h. personality is arm64_personality on
		// aarch64, which takes the same unsigned int.
		"aarch64": {
			"fstat": "newfstat", "fadvise64": "fadvise64_64", "uname": "newuname",
			"sendfile": "sendfile64", "umount2": "umount",
		},
		"riscv64": {
			"fstat": "newfstat", "fadvise64": "fadvise64_64", "uname": "newuname",
			"sendfile": "sendfile64", "umount2": "umount",
		},
		// arch/powerpc/kernel/syscalls/syscall.tbl. personality is
		// ppc64_personality(unsigned long), but it hands the value to
		// ksys_personality(unsigned int): 32 bits are used, as in the row.
		"ppc64le": {
			"stat": "newstat", "fstat": "newfstat", "lstat": "newlstat",
			"uname": "newuname", "sendfile": "sendfile64", "umount2": "umount",
			"_llseek": "llseek", "_newselect": "select", "ugetrlimit": "getrlimit",
		},
		// arch/s390/kernel/syscalls/syscall.tbl. personality is
		// s390_personality(unsigned int), like the row.
		"s390x": {
			"stat": "newstat", "fstat": "newfstat", "lstat": "newlstat",
			"uname": "newuname", "sendfile": "sendfile64", "umount2": "umount",
			"umount": "oldumount", "mmap": "old_mmap", "fadvise64": "fadvise64_64",
		},
	}

	// ni64 are the names the x/sys tables list on a 64-bit arch whose
	// 64-bit entry is sys_ni_syscall (ENOSYS whatever the arguments).
	ni64 = map[string]map[string]bool{
		// arch/x86/entry/syscalls/syscall_64.tbl lists these without an
		// entry point: the 32-bit TLS calls, and calls never implemented.
		"x86_64": {
			"get_thread_area": true, "set_thread_area": true, "afs_syscall": true,
			"create_module": true, "epoll_ctl_old": true, "epoll_wait_old": true,
			"get_kernel_syms": true, "getpmsg": true, "putpmsg": true,
			"query_module": true, "security": true, "tuxcall": true, "vserver": true,
		},
		"ppc64le": {
			"oldstat": true, "umount": true, "oldfstat": true, "oldolduname": true,
			"sigaction": true, "sigsuspend": true, "sigpending": true,
			"getrlimit": true, "select": true, "oldlstat": true, "readdir": true,
			"ioperm": true, "olduname": true, "iopl": true, "sigreturn": true,
			"modify_ldt": true, "sigprocmask": true,
			// syscall.tbl: multiplexer, the 32-bit sys_debug_setcontext
			// and vm86 are sys_ni_syscall on ppc64.
			"multiplexer": true, "sys_debug_setcontext": true, "vm86": true,
		},
		"s390x": {"readdir": true},
	}

	// entry32 maps table names to entry names on i386 and arm. On these
	// arches the plain uid/gid calls are the 16-bit ones (sys_chown16, ...)
	// and the *32 calls are the full-width ones.
	entry32 = map[string]string{
		"chown": "chown16", "lchown": "lchown16", "fchown": "fchown16",
		"getuid": "getuid16", "getgid": "getgid16", "geteuid": "geteuid16",
		"getegid": "getegid16", "setuid": "setuid16", "setgid": "setgid16",
		"setreuid": "setreuid16", "setregid": "setregid16",
		"setresuid": "setresuid16", "getresuid": "getresuid16",
		"setresgid": "setresgid16", "getresgid": "getresgid16",
		"setfsuid": "setfsuid16", "setfsgid": "setfsgid16",
		"getgroups": "getgroups16", "setgroups": "setgroups16",

		"chown32": "chown", "lchown32": "lchown", "fchown32": "fchown",
		"getuid32": "getuid", "getgid32": "getgid", "geteuid32": "geteuid",
		"getegid32": "getegid", "setuid32": "setuid", "setgid32": "setgid",
		"setreuid32": "setreuid", "setregid32": "setregid",
		"setresuid32": "setresuid", "getresuid32": "getresuid",
		"setresgid32": "setresgid", "getresgid32": "getresgid",
		"setfsuid32": "setfsuid", "setfsgid32": "setfsgid",
		"getgroups32": "getgroups", "setgroups32": "setgroups",

		"stat": "newstat", "lstat": "newlstat", "fstat": "newfstat",
		"uname": "newuname", "_llseek": "llseek", "_newselect": "select",
		"ugetrlimit": "getrlimit", "umount2": "umount", "mmap2": "mmap_pgoff",
	}
	entry32Arch = map[string]map[string]string{
		// arch/x86/entry/syscalls/syscall_32.tbl
		"i386": {
			"mmap": "old_mmap", "select": "old_select", "oldstat": "stat",
			"oldfstat": "fstat", "oldlstat": "lstat", "olduname": "uname",
			"oldolduname": "olduname", "readdir": "old_readdir",
			"getrlimit": "old_getrlimit", "umount": "oldumount",
		},
		// arch/arm/tools/syscall.tbl
		"arm": {
			"semctl": "old_semctl", "msgctl": "old_msgctl", "shmctl": "old_shmctl",
			"arm_sync_file_range": "sync_file_range2",
		},
	}

	// nargsOverride corrects the row's argument count where an arch's entry
	// takes a different number of arguments.
	nargsOverride = map[string]map[string]int{
		// CONFIG_OLD_SIGSUSPEND3: sigsuspend(int, int, old_sigset_t).
		"i386":  {"sigsuspend": 3},
		"arm":   {"sigsuspend": 3},
		"s390x": {"sigsuspend": 3, "ipc": 5}, // sys_s390_ipc has 5 arguments
	}
)

// entryRow finds the table row for the syscall name (alias or table name)
// on a, and the entry name it was found under. ok is false if the syscall
// does not exist on a, has no entry point there, or has no row.
func (a *Arch) entryRow(name string) (entry string, row argRow, ok bool) {
	canon, ok := a.Canonical(name)
	if !ok || ni64[a.Name][canon] {
		return "", argRow{}, false
	}
	entry = canon
	if a.Bits == 32 {
		if e, ok := entry32Arch[a.Name][canon]; ok {
			entry = e
		} else if e, ok := entry32[canon]; ok {
			entry = e
		} else if r := time64Replacement(canon); r != "" {
			entry = r
		}
	} else if e, ok := entry64[a.Name][canon]; ok {
		entry = e
	}
	row, ok = argTable()[entry]
	if !ok || row.nargs < 0 {
		return "", argRow{}, false
	}
	if n, ok := nargsOverride[a.Name][canon]; ok {
		row.nargs = n
		if a.Name == "s390x" && canon == "sigsuspend" {
			row.args = [6]argCell{
				{decl: "int unused1", width: 32},
				{decl: "int unused2", width: 32},
				{decl: "old_sigset_t mask", width: 64},
			}
		}
	}
	return entry, row, true
}

// split32 reports whether a 32-bit ABI passes some argument of row in two
// registers.
func (row argRow) split32() bool {
	for _, c := range row.args[:row.nargs] {
		if c.wide64() {
			return true
		}
	}
	return false
}

// NumArgs returns how many arguments the syscall's kernel entry point takes
// on a, from data/syscall-args.tsv. ok is false if the syscall does not
// exist on a, is not implemented there (sys_ni_syscall), its arguments are
// unknown, or (on i386 and arm) a 64-bit argument is split over two
// registers so that the count and positions differ from the prototype.
func (a *Arch) NumArgs(syscall string) (n int, ok bool) {
	_, row, ok := a.entryRow(syscall)
	if !ok || (a.Bits == 32 && row.split32()) {
		return 0, false
	}
	return row.nargs, true
}

// ArgName returns the name the kernel's prototype gives argument arg of the
// syscall on a ("prot", "flags", "fd"), "" when the prototype names none
// or the syscall or argument is unknown there. clone's flags are
// "clone_flags" where CloneFlagsArg says, whatever the order of the
// others.
func (a *Arch) ArgName(syscall string, arg int) string {
	entry, row, ok := a.entryRow(syscall)
	if !ok || arg < 0 || arg >= row.nargs || (a.Bits == 32 && row.split32()) {
		return ""
	}
	if entry == "clone" {
		if arg == a.CloneFlagsArg() {
			return "clone_flags"
		}
		return ""
	}
	f := strings.Fields(strings.TrimRight(row.args[arg].decl, "*"))
	if len(f) < 2 || strings.Contains(f[len(f)-1], "*") {
		return ""
	}
	return f[len(f)-1]
}

// CloneFlagsArg returns the index of clone(2)'s flags argument on a: 1 on
// s390x (CONFIG_CLONE_BACKWARDS2, clone(newsp, flags, ...)), 0 elsewhere.
func (a *Arch) CloneFlagsArg() int {
	if a.Name == "s390x" {
		return 1
	}
	return 0
}

// SplitFrom reports, for a syscall that on a 32-bit architecture takes a
// 64-bit argument split over two registers (pread64's offset, ...), the
// first argument that is not where the prototype puts it: from that one
// on, positions differ (ARM EABI even pads to an even register). ok is
// false when the syscall's arguments sit at their prototype's positions.
func (a *Arch) SplitFrom(syscall string) (first int, ok bool) {
	if a.Bits != 32 {
		return 0, false
	}
	_, row, found := a.entryRow(syscall)
	if !found || !row.split32() {
		return 0, false
	}
	for i, c := range row.args[:row.nargs] {
		if c.wide64() {
			return i, true
		}
	}
	return 0, false
}
