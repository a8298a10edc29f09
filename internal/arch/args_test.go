package arch

import (
	"sort"
	"strings"
	"testing"
)

func TestArgTableParses(t *testing.T) {
	shared, err := parseArgTable(syscallArgsTSV)
	if err != nil {
		t.Fatal(err)
	}
	known, unknown := 0, 0
	for _, row := range shared {
		if row.nargs < 0 {
			unknown++
		} else {
			known++
		}
	}
	// data/README.md: 519 rows, 466 resolved and 53 unknown.
	if known != 466 || unknown != 53 {
		t.Errorf("rows: %d known, %d unknown; want 466 and 53", known, unknown)
	}
	// syscall-args-extra.tsv resolves some of the unknown rows and adds
	// a few; it never overrides a resolved row.
	extra, err := parseArgTable(syscallArgsExtraTSV)
	if err != nil {
		t.Fatal(err)
	}
	for name := range extra {
		if argTable()[name].nargs < 0 {
			t.Errorf("%s: still unresolved", name)
		}
	}
	if err := mergeArgTables(map[string]argRow{"x": {nargs: 1}}, map[string]argRow{"x": {nargs: 1}}); err == nil {
		t.Error("an extra row overrode a resolved one")
	}
	for _, bad := range []string{
		"",
		"name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5\nx\t1\tint a|32\t\t\t\t\n",   // 7 fields
		"name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5\nx\t7\t\t\t\t\t\t\n",         // nargs > 6
		"name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5\nx\t1\tint a|16\t\t\t\t\t\n", // width
		"name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5\nx\t0\tint a|32\t\t\t\t\t\n", // beyond nargs
		"name\tnargs\targ0\targ1\targ2\targ3\targ4\targ5\nx\t1\t\t\t\t\t\t\n",         // missing cell
	} {
		if _, err := parseArgTable(bad); err == nil {
			t.Errorf("parseArgTable accepted %q", bad)
		}
	}
}

type widthCase struct {
	arch, syscall string
	arg           int
	width         int
	known         bool
}

func checkWidths(t *testing.T, cases []widthCase) {
	t.Helper()
	for _, c := range cases {
		a, ok := Lookup(c.arch)
		if !ok {
			t.Fatalf("no arch %s", c.arch)
		}
		w, k := a.ArgWidth(c.syscall, c.arg)
		if w != c.width || k != c.known {
			t.Errorf("%s ArgWidth(%s, %d) = %d, %v; want %d, %v", c.arch, c.syscall, c.arg, w, k, c.width, c.known)
		}
	}
}

func TestArgWidthOrdinary(t *testing.T) {
	checkWidths(t, []widthCase{
		{"x86_64", "write", 0, 32, true},   // unsigned int fd
		{"x86_64", "write", 1, 64, true},   // const char __user *buf
		{"x86_64", "write", 2, 64, true},   // size_t count
		{"x86_64", "accept4", 3, 32, true}, // int flags
		{"x86_64", "socket", 0, 32, true},
		{"x86_64", "ioctl", 1, 32, true},  // unsigned int cmd
		{"x86_64", "ioctl", 2, 64, false}, // the driver decides
		{"x86_64", "openat", 2, 32, true},
		{"x86_64", "prctl", 0, 32, true},
		{"x86_64", "prctl", 1, 64, false}, // depends on the option
		{"aarch64", "openat", 0, 32, true},
		{"riscv64", "mprotect", 2, 64, true}, // unsigned long prot
		{"ppc64le", "futex", 1, 32, true},
		{"s390x", "kill", 1, 32, true},
		{"x86_64", "arch_prctl", 0, 32, true},
		// An alias resolves to its canonical syscall's row.
		{"aarch64", "fstatat", 3, 32, true},
		{"aarch64", "fstatat", 2, 64, true},
	})
}

func TestArgWidthCaveats(t *testing.T) {
	checkWidths(t, []widthCase{
		// umode_t is 16 bits.
		{"x86_64", "chmod", 1, 16, true},
		{"x86_64", "openat", 3, 16, true},
		{"aarch64", "mkdirat", 2, 16, true},
		{"s390x", "fchmodat", 2, 16, true},
		{"ppc64le", "mq_open", 2, 16, true},
		{"x86_64", "chown", 1, 32, true}, // uid_t stays 32
		// fd declared unsigned long in the readv family and mmap.
		{"x86_64", "readv", 0, 32, true},
		{"x86_64", "readv", 2, 32, true}, // import_iovec(unsigned nr_segs)
		{"x86_64", "writev", 0, 32, true},
		{"aarch64", "preadv", 0, 32, true},
		{"riscv64", "preadv2", 0, 32, true},
		{"riscv64", "preadv2", 5, 32, true}, // rwf_t flags
		{"ppc64le", "pwritev", 0, 32, true},
		{"s390x", "pwritev2", 0, 32, true},
		{"x86_64", "pwritev", 3, 64, true},
		{"x86_64", "mmap", 4, 32, true},
		{"x86_64", "mmap", 3, 32, true}, // flags: high bits ignored
		{"x86_64", "mmap", 5, 64, true},
		{"aarch64", "mmap", 4, 32, true},
		{"ppc64le", "mmap", 4, 32, true},
		// s390x mmap is sys_old_mmap(struct mmap_arg_struct __user *).
		{"s390x", "mmap", 0, 64, true},
		{"s390x", "mmap", 4, 64, false},
		// clone flags: arg0, but arg1 on s390x (CLONE_BACKWARDS2).
		{"x86_64", "clone", 0, 32, true},
		{"x86_64", "clone", 1, 64, true},
		{"aarch64", "clone", 0, 32, true},
		{"riscv64", "clone", 0, 32, true},
		{"ppc64le", "clone", 0, 32, true},
		{"s390x", "clone", 0, 64, true},
		{"s390x", "clone", 1, 32, true},
		// ptrace pid.
		{"x86_64", "ptrace", 1, 32, true},
		{"x86_64", "ptrace", 0, 64, true},
		{"aarch64", "ptrace", 1, 32, true},
		{"x86_64", "ptrace", 2, 64, false}, // depends on the request
	})
	for _, a := range All() {
		want := 0
		if a.Name == "s390x" {
			want = 1
		}
		if got := a.CloneFlagsArg(); got != want {
			t.Errorf("%s CloneFlagsArg = %d, want %d", a.Name, got, want)
		}
	}
}

func TestArgWidthEntryNames(t *testing.T) {
	checkWidths(t, []widthCase{
		// x86_64 fstat is sys_newfstat(unsigned int fd, ...).
		{"x86_64", "fstat", 0, 32, true},
		{"x86_64", "stat", 0, 64, true},
		{"x86_64", "uname", 0, 64, true},
		{"x86_64", "sendfile", 3, 64, true},
		{"x86_64", "umount2", 1, 32, true},
		{"aarch64", "fstat", 0, 32, true},
		{"aarch64", "fadvise64", 2, 64, true}, // fadvise64_64: loff_t len
		{"aarch64", "fadvise64", 3, 32, true},
		{"aarch64", "personality", 0, 32, true},
		{"ppc64le", "_newselect", 0, 32, true},
		{"ppc64le", "_llseek", 0, 32, true},
		{"ppc64le", "_llseek", 1, 32, true}, // shifted left by 32
		{"ppc64le", "_llseek", 2, 64, true},
		{"ppc64le", "_llseek", 4, 32, true},
		{"ppc64le", "ugetrlimit", 0, 32, true},
		// s390x umount is sys_oldumount(char __user *name): one argument.
		{"s390x", "umount", 0, 64, true},
		{"s390x", "umount", 1, 64, false},
		// s390x sigsuspend(int, int, old_sigset_t), CONFIG_OLD_SIGSUSPEND3.
		{"s390x", "sigsuspend", 0, 32, true},
		{"s390x", "sigsuspend", 2, 64, true},
		{"s390x", "ipc", 0, 16, true},  // call & 0xffff, version >> 16
		{"s390x", "ipc", 5, 64, false}, // sys_s390_ipc has five arguments
	})
	nargs := []struct {
		arch, syscall string
		n             int
		ok            bool
	}{
		{"x86_64", "write", 3, true},
		{"x86_64", "getpid", 0, true},
		{"x86_64", "clone", 5, true},
		{"x86_64", "mmap", 6, true},
		{"x86_64", "umount2", 2, true},
		{"x86_64", "tuxcall", 0, false}, // nargs ? in the table
		{"x86_64", "nosuchcall", 0, false},
		{"aarch64", "open", 0, false}, // no such syscall there
		{"aarch64", "fstatat", 4, true},
		{"s390x", "mmap", 1, true},
		{"s390x", "umount", 1, true},
		{"s390x", "sigsuspend", 3, true},
		{"s390x", "ipc", 5, true},
		{"ppc64le", "umount", 0, false}, // sys_ni_syscall on ppc64
		{"ppc64le", "sigsuspend", 0, false},
		{"ppc64le", "mmap", 6, true},
		{"i386", "mmap", 1, true}, // sys_old_mmap
		{"i386", "mmap2", 6, true},
		{"i386", "select", 1, true}, // sys_old_select
		{"i386", "_newselect", 5, true},
		{"i386", "sigsuspend", 3, true},
		{"i386", "chown", 3, true},
		{"i386", "clock_gettime64", 2, true},
		{"i386", "pread64", 0, false},  // loff_t pos is split over two registers
		{"arm", "fallocate", 0, false}, // likewise
		{"arm", "arm_sync_file_range", 0, false},
		{"arm", "semctl", 4, true}, // sys_old_semctl
		{"arm", "cacheflush", 0, false},
		// From syscall-args-extra.tsv.
		{"arm", "arm_fadvise64_64", 0, false}, // loff_t offset is split
		{"s390x", "s390_runtime_instr", 2, true},
		{"s390x", "s390_sthyi", 4, true},
		{"ppc64le", "switch_endian", 0, true},
		{"ppc64le", "swapcontext", 3, true},
		{"i386", "vm86", 2, true},
		{"x86_64", "set_thread_area", 0, false}, // sys_ni_syscall on x86_64
		{"i386", "set_thread_area", 1, true},
	}
	for _, c := range nargs {
		a, _ := Lookup(c.arch)
		n, ok := a.NumArgs(c.syscall)
		if n != c.n || ok != c.ok {
			t.Errorf("%s NumArgs(%s) = %d, %v; want %d, %v", c.arch, c.syscall, n, ok, c.n, c.ok)
		}
	}
}

func TestArgWidthUnknown(t *testing.T) {
	checkWidths(t, []widthCase{
		{"x86_64", "write", 3, 64, false},   // beyond nargs
		{"x86_64", "getpid", 0, 64, false},  // no arguments at all
		{"x86_64", "tuxcall", 0, 64, false}, // nargs ?
		{"x86_64", "afs_syscall", 2, 64, false},
		{"x86_64", "nosuchcall", 0, 64, false}, // not a syscall
		{"aarch64", "open", 1, 64, false},      // not a syscall there
		{"ppc64le", "umount", 0, 64, false},    // sys_ni_syscall
		{"ppc64le", "sigsuspend", 0, 64, false},
		{"s390x", "s390_sthyi", 4, 64, false}, // beyond its four arguments
		{"x86_64", "write", 6, 64, false},     // no seccomp_data slot
		{"x86_64", "write", -1, 64, false},
		{"arm", "write", 6, 32, false},
	})
}

func TestArgWidth32Bit(t *testing.T) {
	// Every argument of every syscall is at most 32 bits on i386 and arm.
	for _, a := range []*Arch{I386, ARM} {
		for _, name := range a.SyscallNames() {
			for arg := 0; arg < 6; arg++ {
				w, known := a.ArgWidth(name, arg)
				if !known || (w != 32 && w != 16) {
					t.Fatalf("%s ArgWidth(%s, %d) = %d, %v", a.Name, name, arg, w, known)
				}
			}
		}
	}
	checkWidths(t, []widthCase{
		{"arm", "write", 0, 32, true},
		{"arm", "write", 1, 32, true},
		{"arm", "write", 2, 32, true},
		{"arm", "accept4", 3, 32, true},
		{"arm", "mmap2", 4, 32, true},
		{"arm", "clone", 0, 32, true},
		{"arm", "ptrace", 0, 32, true},
		{"arm", "pread64", 3, 32, true},
		{"arm", "readv", 0, 32, true},
		{"i386", "fstatat64", 3, 32, true},
		{"arm", "newfstatat", 0, 32, false}, // not a syscall on arm
		// The 16-bit truncation of umode_t and old_uid_t/old_gid_t happens
		// in the SYSCALL_DEFINE wrapper, so on 32-bit arches too. There the
		// plain uid calls are the 16-bit entries and *32 the full ones.
		{"arm", "chmod", 1, 16, true},
		{"arm", "openat", 3, 16, true},
		{"i386", "chown", 1, 16, true},
		{"i386", "chown", 2, 16, true},
		{"i386", "chown32", 1, 32, true},
		{"arm", "setuid", 0, 16, true},
		{"arm", "setuid32", 0, 32, true},
		{"i386", "setresgid", 2, 16, true},
		{"i386", "getgroups", 1, 32, true}, // old_gid_t __user *: a pointer
		{"i386", "fchown", 0, 32, true},    // the fd of fchown16
		{"i386", "fchown", 1, 16, true},
	})
}

// TestArgWidthCoverage logs, per 64-bit arch, the syscalls whose widths are
// unknown, and checks the count stays small: a regression in the entry-name
// mapping would show up here.
func TestArgWidthCoverage(t *testing.T) {
	for _, a := range All() {
		if a.Bits != 64 {
			continue
		}
		var unknown []string
		for _, name := range a.tables().names {
			if _, ok := a.NumArgs(name); !ok {
				unknown = append(unknown, name)
			}
			for arg := 0; arg < 6; arg++ {
				if w, _ := a.ArgWidth(name, arg); w != 16 && w != 32 && w != 64 {
					t.Errorf("%s ArgWidth(%s, %d) = %d", a.Name, name, arg, w)
				}
			}
		}
		sort.Strings(unknown)
		t.Logf("%s: %d of %d syscalls without argument widths: %s", a.Name, len(unknown), len(a.tables().names), strings.Join(unknown, " "))
		if len(unknown) > 50 {
			t.Errorf("%s: %d syscalls without argument widths", a.Name, len(unknown))
		}
	}
}

// TestSplitFromExtraRows: arm_fadvise64_64 (syscall-args-extra.tsv) passes
// its loff_t offset in an aligned register pair, so from arg2 on the
// positions are not the prototype's.
func TestSplitFromExtraRows(t *testing.T) {
	if first, ok := ARM.SplitFrom("arm_fadvise64_64"); !ok || first != 2 {
		t.Errorf("SplitFrom(arm_fadvise64_64) = %d, %v; want 2, true", first, ok)
	}
}
