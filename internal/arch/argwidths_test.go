package arch

import (
	"fmt"
	"strings"
	"testing"
)

func TestArgWidthRowsParse(t *testing.T) {
	if len(widthRows()) < 300 {
		t.Errorf("arg-widths.tsv has %d rows", len(widthRows()))
	}
	const h = "entry\targ\tarches\twhen\twidth\tclass\treason\n"
	for _, bad := range []string{
		"",
		"# only a comment\n",
		h + "mmap\t2\t*\t-\t32\tflags\n",                                       // 6 fields
		h + "mmap\t6\t*\t-\t32\tflags\twhy\n",                                  // arg 6
		h + "mmap\t2\tvax\t-\t32\tflags\twhy\n",                                // unknown arch
		h + "mmap\t2\t*\targ9=1\t32\tflags\twhy\n",                             // selector arg 9
		h + "mmap\t2\t*\targ2=1\t32\tflags\twhy\n",                             // selects on itself
		h + "mmap\t2\t*\targ1\t32\tflags\twhy\n",                               // no values
		h + "mmap\t2\t*\t-\t48\tflags\twhy\n",                                  // width
		h + "mmap\t2\t*\t-\t32\tcolour\twhy\n",                                 // class
		h + "mmap\t2\t*\t-\t?\tflags\twhy\n",                                   // ? with a known class
		h + "mmap\t2\t*\t-\t64\tunknown\twhy\n",                                // unknown with a width
		h + "mmap\t2\t*\t-\t32\tflags\t\n",                                     // no reason
		"entry\targ\twhen\twidth\tclass\treason\nmmap\t2\t-\t32\tflags\twhy\n", // header
	} {
		if _, err := parseWidthRows(bad); err == nil {
			t.Errorf("parseWidthRows accepted %q", bad)
		}
	}
	good := h + "# a comment\nkeyctl\t1\t*\targ0=KEYCTL_READ,7&arg2=0x10\t32\tid\twhy\nkeyctl\t1\tx86_64,s390x\t-\t?\tunknown\twhy not\n"
	rows, err := parseWidthRows(good)
	if err != nil || len(rows) != 2 || rows[0].line != 3 || len(rows[0].when) != 2 || rows[0].when[1].arg != 2 ||
		rows[1].bits != 0 || len(rows[1].arches) != 2 {
		t.Errorf("parseWidthRows(%q) = %+v, %v", good, rows, err)
	}
}

// TestArgWidthsCoverEveryWideArgument: every argument syscall-args.tsv
// declares 64 bits wide and not a pointer, of every syscall of every 64-bit
// architecture, has rows in arg-widths.tsv that say how the kernel reads
// it; every row speaks for an argument some architecture has; and the
// conditions of rows select on arguments whose own width is fixed and
// lower.
func TestArgWidthsCoverEveryWideArgument(t *testing.T) {
	used := map[int]bool{}
	audited := 0
	for _, a := range All() {
		specs, err := compileWidths(a)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		reached := map[specKey]bool{}
		for _, name := range a.SyscallNames() {
			entry, row, ok := a.entryRow(name)
			if !ok {
				continue
			}
			for arg := 0; arg < row.nargs; arg++ {
				k := specKey{entry, arg}
				reached[k] = true
				c := row.args[arg]
				if a.Bits == 64 && c.width == 64 && !c.pointer() && specs[k] == nil {
					t.Errorf("%s: %s arg%d (%s) has no row in arg-widths.tsv", a.Name, entry, arg, c.decl)
				}
				cases, def := a.ArgWidths(name, arg)
				if def.Reason == "" || (def.Bits != 16 && def.Bits != 32 && def.Bits != 64) {
					t.Errorf("%s: %s arg%d: default %+v", a.Name, name, arg, def)
				}
				for _, cs := range cases {
					// Each condition reads its argument on that argument's
					// width in the calls the case's earlier conditions select,
					// which must be known for every value they allow.
					var args [6]uint64
					for _, in := range cs.When {
						if in.Arg >= arg {
							t.Errorf("%s: %s arg%d depends on a later argument, arg%d", a.Name, name, arg, in.Arg)
						}
						sd := a.ArgWidthIn(name, in.Arg, &args)
						if !sd.Known || in.Mask != widthMask(sd.Bits) {
							t.Errorf("%s: %s arg%d depends on arg%d, whose width there is not known (%+v)", a.Name, name, arg, in.Arg, sd)
						}
						for _, v := range in.Values {
							if v&^in.Mask != 0 {
								t.Errorf("%s: %s arg%d: selector value %#x does not fit arg%d", a.Name, name, arg, v, in.Arg)
							}
						}
						args[in.Arg] = in.Values[0]
					}
				}
			}
		}
		for _, r := range widthRows() {
			if r.appliesTo(a) && reached[specKey{r.entry, r.arg}] {
				used[r.line] = true
			}
		}
		for _, k := range sortedSpecKeys(specs) {
			if reached[k] {
				audited++
			}
		}
	}
	for _, r := range widthRows() {
		if !used[r.line] {
			t.Errorf("arg-widths.tsv line %d (%s arg%d) applies to no argument of any architecture", r.line, r.entry, r.arg)
		}
	}
	t.Logf("%d rows; %d (arch, entry, arg) triples audited", len(widthRows()), audited)
}

func widthMask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return uint64(1)<<bits - 1
}

// widthIn is ArgWidthIn with the arguments spelled as constant names or
// numbers.
func widthIn(t *testing.T, a *Arch, syscall string, arg int, vals ...string) Width {
	t.Helper()
	var args [6]uint64
	for i, v := range vals {
		if v == "" {
			continue
		}
		n, ok := a.Const(v)
		if !ok {
			if _, err := fmt.Sscan(v, &n); err != nil {
				t.Fatalf("%s: no constant %s", a.Name, v)
			}
		}
		args[i] = n
	}
	return a.ArgWidthIn(syscall, arg, &args)
}

func TestArgWidthIn(t *testing.T) {
	for _, c := range []struct {
		arch, syscall string
		arg           int
		args          []string
		bits          int
		known         bool
		class         string
	}{
		// The two bypasses.
		{"x86_64", "mmap", 2, nil, 32, true, "flags"},
		{"aarch64", "mmap", 2, nil, 32, true, "flags"},
		{"ppc64le", "mmap", 2, nil, 64, true, "flags"}, // arch_validate_prot refuses
		{"x86_64", "keyctl", 1, []string{"KEYCTL_GET_KEYRING_ID"}, 32, true, "id"},
		{"s390x", "keyctl", 1, []string{"KEYCTL_REVOKE"}, 32, true, "id"},
		{"x86_64", "keyctl", 1, []string{"KEYCTL_JOIN_SESSION_KEYRING"}, 64, true, "pointer"},
		{"x86_64", "keyctl", 2, []string{"KEYCTL_READ"}, 64, true, "pointer"},
		{"x86_64", "keyctl", 3, []string{"KEYCTL_READ"}, 64, true, "size"},
		{"x86_64", "keyctl", 3, []string{"KEYCTL_DESCRIBE"}, 32, true, "size"},
		{"x86_64", "keyctl", 4, []string{"KEYCTL_SEARCH"}, 32, true, "id"},
		{"x86_64", "keyctl", 1, []string{"99"}, 64, false, "unknown"},
		// Rejected high bits: 64.
		{"x86_64", "mprotect", 2, nil, 64, true, "flags"},
		{"x86_64", "pkey_mprotect", 2, nil, 64, true, "flags"},
		{"x86_64", "remap_file_pages", 2, nil, 64, true, "flags"},
		{"x86_64", "mount", 3, nil, 64, true, "flags"},
		{"x86_64", "unshare", 0, nil, 64, true, "flags"},
		// Truncated.
		{"x86_64", "mbind", 2, nil, 32, true, "flags"},
		{"riscv64", "process_vm_readv", 2, nil, 32, true, "size"},
		{"riscv64", "process_vm_readv", 4, nil, 64, true, "size"},
		{"x86_64", "vmsplice", 2, nil, 32, true, "size"},
		{"x86_64", "preadv", 4, nil, 64, true, "unused"},
		// fcntl: the command decides.
		{"x86_64", "fcntl", 2, []string{"", "F_SETFL"}, 32, true, "flags"},
		{"x86_64", "fcntl", 2, []string{"", "F_DUPFD_CLOEXEC"}, 32, true, "fd"},
		{"aarch64", "fcntl", 2, []string{"", "F_SETLK"}, 64, true, "pointer"},
		{"aarch64", "fcntl", 2, []string{"", "F_GETFL"}, 64, true, "unused"},
		{"x86_64", "fcntl", 2, []string{"", "F_GETDELEG"}, 64, false, "unknown"},
		{"i386", "fcntl64", 2, []string{"", "F_SETLK"}, 32, true, ""},
		// prctl: the option decides, and for PR_SET_MM the sub-option.
		{"x86_64", "prctl", 1, []string{"PR_SET_MM"}, 32, true, "cmd"},
		{"x86_64", "prctl", 2, []string{"PR_SET_MM", "PR_SET_MM_EXE_FILE"}, 32, true, "fd"},
		{"x86_64", "prctl", 2, []string{"PR_SET_MM", "PR_SET_MM_START_BRK"}, 64, true, "mixed"},
		{"x86_64", "prctl", 1, []string{"PR_SET_TSC"}, 32, true, "value"},
		{"aarch64", "prctl", 1, []string{"PR_SET_TSC"}, 64, true, "unused"},
		{"ppc64le", "prctl", 1, []string{"PR_SET_ENDIAN"}, 32, true, "value"},
		{"x86_64", "prctl", 1, []string{"PR_SET_CHILD_SUBREAPER"}, 64, true, "value"},
		{"x86_64", "prctl", 1, []string{"PR_RSEQ_SLICE_EXTENSION"}, 64, false, "unknown"},
		{"x86_64", "prctl", 2, []string{"PR_FUTEX_HASH", "PR_FUTEX_HASH_SET_SLOTS"}, 32, true, "size"},
		// ipc's call is 16 bits; its other arguments follow the call.
		{"s390x", "ipc", 0, nil, 16, true, "cmd"},
		{"i386", "ipc", 0, nil, 16, true, "cmd"},
		{"s390x", "ipc", 2, []string{"1"}, 32, true, "size"},
		{"ppc64le", "ipc", 2, []string{"0x10017"}, 64, true, "size"}, // SHMGET, version 1
		{"ppc64le", "ipc", 3, []string{"21"}, 64, true, "pointer"},
		// semctl's SETVAL value is the high half on big-endian s390x.
		{"x86_64", "semctl", 3, []string{"", "", "16"}, 32, true, "value"},
		{"s390x", "semctl", 3, []string{"", "", "16"}, 64, false, "unknown"},
		{"s390x", "semctl", 3, []string{"", "", "2"}, 64, true, "pointer"},
		{"x86_64", "kcmp", 4, []string{"", "", "0"}, 32, true, "fd"},
		{"x86_64", "kcmp", 4, []string{"", "", "7"}, 64, true, "pointer"},
		{"x86_64", "sysfs", 1, []string{"2"}, 32, true, "value"},
		{"x86_64", "ptrace", 2, []string{"PTRACE_GETREGSET"}, 32, true, "value"},
		{"x86_64", "ptrace", 3, []string{"PTRACE_ARCH_PRCTL"}, 32, true, "cmd"},
		{"x86_64", "ptrace", 3, []string{"PTRACE_POKEUSR"}, 64, false, "unknown"},
		{"aarch64", "ptrace", 2, []string{"PTRACE_PEEKMTETAGS"}, 64, true, "addr"},
		// Declared types.
		{"x86_64", "openat", 2, nil, 32, true, ""},
		{"x86_64", "openat", 3, nil, 16, true, "mode"},
		{"x86_64", "openat", 1, nil, 64, true, "pointer"},
	} {
		a, _ := Lookup(c.arch)
		w := widthIn(t, a, c.syscall, c.arg, c.args...)
		if w.Bits != c.bits || w.Known != c.known || w.Class != c.class || w.Reason == "" {
			t.Errorf("%s %s arg%d with %v: %+v; want %d bits, known %v, class %q", c.arch, c.syscall, c.arg, c.args, w, c.bits, c.known, c.class)
		}
	}
}

// TestKeyctlOptionsAllAudited: each keyctl option of the audited kernel
// (KEYCTL_GET_KEYRING_ID .. KEYCTL_WATCH_KEY) has its own case for every
// argument, so that only options unknown to fencer fall to the default.
func TestKeyctlOptionsAllAudited(t *testing.T) {
	for _, a := range All() {
		if a.Bits != 64 {
			continue
		}
		last, _ := a.Const("KEYCTL_WATCH_KEY")
		for arg := 1; arg <= 4; arg++ {
			cases, def := a.ArgWidths("keyctl", arg)
			if def.Known {
				t.Errorf("%s keyctl arg%d: the default is known: %+v", a.Name, arg, def)
			}
			for opt := uint64(0); opt <= last; opt++ {
				args := [6]uint64{opt}
				found := false
				for _, c := range cases {
					if c.Holds(&args) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s keyctl arg%d: option %d has no case", a.Name, arg, opt)
				}
			}
		}
	}
}

// TestArgWidthsDependOnlyOnSelectors: ArgWidth sums ArgWidths up.
func TestArgWidthsSummary(t *testing.T) {
	for _, a := range All() {
		for _, name := range a.SyscallNames() {
			for arg := 0; arg < 6; arg++ {
				cases, def := a.ArgWidths(name, arg)
				w, known := a.ArgWidth(name, arg)
				if len(cases) == 0 && (w != def.Bits || known != def.Known) {
					t.Fatalf("%s %s arg%d: ArgWidth %d %v, ArgWidths %+v", a.Name, name, arg, w, known, def)
				}
				if len(cases) != 0 && (known || w < def.Bits) {
					t.Fatalf("%s %s arg%d: ArgWidth %d %v with cases", a.Name, name, arg, w, known)
				}
				if w > a.Bits {
					t.Fatalf("%s %s arg%d: %d bits", a.Name, name, arg, w)
				}
			}
		}
	}
}

func TestWidthRowsListed(t *testing.T) {
	rows := X86_64.WidthRows()
	var mmap []string
	for _, r := range rows {
		if r.Entry == "mmap" && r.Arg == 2 {
			mmap = append(mmap, fmt.Sprintf("%d %s", r.Width.Bits, r.Width.Class))
		}
	}
	if strings.Join(mmap, ";") != "32 flags" {
		t.Errorf("x86_64 mmap arg2 rows: %v", mmap)
	}
	if e, ok := X86_64.EntryName("fstat"); !ok || e != "newfstat" {
		t.Errorf("EntryName(fstat) = %q, %v", e, ok)
	}
}
