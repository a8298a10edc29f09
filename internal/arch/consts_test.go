package arch

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func mustConst(t *testing.T, a *Arch, name string) uint64 {
	t.Helper()
	v, ok := a.Const(name)
	if !ok {
		t.Fatalf("%s: no constant %s", a.Name, name)
	}
	return v
}

func TestConstsPerArch(t *testing.T) {
	// Values from each arch's uapi headers; they differ by arch on purpose.
	want := map[string]map[string]uint64{
		"O_DIRECTORY": {"x86_64": 0x10000, "i386": 0x10000, "riscv64": 0x10000, "s390x": 0x10000,
			"aarch64": 0x4000, "arm": 0x4000, "ppc64le": 0x4000},
		"O_NOFOLLOW": {"x86_64": 0x20000, "aarch64": 0x8000, "ppc64le": 0x8000},
		"O_DIRECT":   {"x86_64": 0x4000, "aarch64": 0x10000, "ppc64le": 0x20000},
		"O_CLOEXEC":  {"x86_64": 0x80000, "aarch64": 0x80000, "ppc64le": 0x80000, "s390x": 0x80000},
		// The kernel's O_LARGEFILE, not glibc's 0 (see supplement.go).
		"O_LARGEFILE": {"x86_64": 0x8000, "aarch64": 0x20000, "i386": 0x8000, "arm": 0x20000,
			"riscv64": 0x8000, "ppc64le": 0x10000, "s390x": 0x8000},
		"SOCK_CLOEXEC":  {"x86_64": 0x80000, "aarch64": 0x80000, "ppc64le": 0x80000},
		"SOCK_NONBLOCK": {"x86_64": 0x800, "arm": 0x800, "ppc64le": 0x800},
		"SOCK_STREAM":   {"x86_64": 1, "s390x": 1},
		"AF_INET6":      {"x86_64": 10, "s390x": 10},
		// powerpc differs from asm-generic in mman.h and socket.h.
		"MAP_NORESERVE": {"x86_64": 0x4000, "aarch64": 0x4000, "ppc64le": 0x40},
		"MAP_LOCKED":    {"x86_64": 0x2000, "ppc64le": 0x80},
		"MCL_CURRENT":   {"x86_64": 1, "ppc64le": 0x2000},
		"SO_RCVLOWAT":   {"x86_64": 0x12, "ppc64le": 0x10},
		"SO_PEERCRED":   {"x86_64": 0x11, "ppc64le": 0x15},
		"MAP_ANONYMOUS": {"x86_64": 0x20, "ppc64le": 0x20, "s390x": 0x20},
		// s390x's 64-bit fadvise values.
		"FADV_DONTNEED": {"x86_64": 4, "s390x": 6},
		// 32-bit fcntl lock commands are the 64-bit-offset ones.
		"F_GETLK":                  {"x86_64": 5, "i386": 12, "arm": 12},
		"F_SETFL":                  {"x86_64": 4, "ppc64le": 4},
		"EPERM":                    {"x86_64": 1, "ppc64le": 1},
		"EDEADLOCK":                {"x86_64": 35, "ppc64le": 58},
		"SIGKILL":                  {"x86_64": 9, "arm": 9},
		"SIGSYS":                   {"x86_64": 31, "s390x": 31},
		"AT_FDCWD":                 {"x86_64": 0xffffffffffffff9c, "arm": 0xffffffffffffff9c},
		"PR_SET_NO_NEW_PRIVS":      {"x86_64": 38, "riscv64": 38},
		"PR_SET_PTRACER_ANY":       {"x86_64": 0xffffffffffffffff, "i386": 0xffffffff},
		"SECCOMP_RET_KILL_PROCESS": {"x86_64": 0x80000000},
		"CLONE_NEWUSER":            {"x86_64": 0x10000000},
		"MADV_DONTNEED":            {"x86_64": 4},
		"TIOCSTI":                  {"x86_64": 0x5412, "ppc64le": 0x5412},
		"TIOCGWINSZ":               {"x86_64": 0x5413, "ppc64le": 0x40087468},
		"TCGETS":                   {"x86_64": 0x5401, "ppc64le": 0x402c7413},
		"FUTEX_WAIT_PRIVATE":       {"x86_64": 128, "s390x": 128},
		"ARCH_SET_FS":              {"x86_64": 0x1002, "i386": 0x1002},
		"POLLIN":                   {"x86_64": 1},
		"S_IFDIR":                  {"x86_64": 0x4000},
		"CLOCK_MONOTONIC":          {"x86_64": 1},
		"RLIMIT_NOFILE":            {"x86_64": 7, "ppc64le": 7},
		"GRND_NONBLOCK":            {"x86_64": 1},
		"SIG_BLOCK":                {"x86_64": 0},
		"WNOHANG":                  {"x86_64": 1},
		"IN_CLOEXEC":               {"x86_64": 0x80000},
		"MS_BIND":                  {"x86_64": 0x1000},
		// Every constant of x/sys, not some families: sockets, shutdown,
		// AF_XDP's socket options, termios, other families of IN_.
		"IPV6_V6ONLY":    {"x86_64": 26, "aarch64": 26, "s390x": 26},
		"SHUT_WR":        {"x86_64": 1, "ppc64le": 1},
		"XDP_STATISTICS": {"x86_64": 7, "arm": 7},
		"SO_REUSEPORT":   {"x86_64": 15, "ppc64le": 15},
		"B115200":        {"x86_64": 0x1002, "ppc64le": 0x11},
		"IN_CLASSA_NET":  {"x86_64": 0xff000000},
		"ETH_P_ALL":      {"x86_64": 3},
		"AF_DECnet":      {"x86_64": 12},
	}
	for name, byArch := range want {
		for arch, v := range byArch {
			a, _ := Lookup(arch)
			if got := mustConst(t, a, name); got != v {
				t.Errorf("%s %s = %#x, want %#x", arch, name, got, v)
			}
		}
	}
	if v := mustConst(t, X86_64, "SOCK_CLOEXEC") | mustConst(t, X86_64, "SOCK_NONBLOCK"); v != 0x80800 {
		t.Errorf("x86_64 SOCK_CLOEXEC|SOCK_NONBLOCK = %#x, want 0x80800", v)
	}
}

func TestConstsAbsent(t *testing.T) {
	absent := map[string][]string{
		"MAP_32BIT":   {"aarch64", "arm", "riscv64", "ppc64le", "s390x"},
		"ARCH_SET_FS": {"aarch64", "arm", "riscv64", "ppc64le", "s390x"},
		// x/sys's own names, which are not the kernel's: Go names (the
		// Sizeof ones are struct sizes, sizeof(...)), unexported helpers,
		// and a string constant.
		"SizeofSockaddrInet4": {"x86_64"},
		"PathMax":             {"x86_64"},
		"PerfBitDisabled":     {"x86_64"},
		"_CPU_SETSIZE":        {"x86_64"},
		"DM_DIR":              {"x86_64"},
	}
	for name, arches := range absent {
		for _, an := range arches {
			a, _ := Lookup(an)
			if v, ok := a.Const(name); ok {
				t.Errorf("%s: %s = %#x should be absent", an, name, v)
			}
		}
	}
	for _, a := range All() {
		if n := len(a.ConstNames()); n < 9000 {
			t.Errorf("%s: only %d constants", a.Name, n)
		}
	}
}

// TestSupplementDoesNotShadowXSys fails when x/sys starts to define what
// supplement.go adds by hand, so the hand-written entry can be reviewed
// against it and dropped.
func TestSupplementDoesNotShadowXSys(t *testing.T) {
	for _, a := range all {
		gsyscalls := a.gen.syscalls()
		for name, nr := range extraSyscalls[a.Name] {
			if gnr, ok := gsyscalls[name]; ok {
				t.Errorf("%s: x/sys now has syscall %s = %d (supplement: %d)", a.Name, name, gnr, nr)
			}
			for gname, gnr := range gsyscalls {
				if gnr == nr {
					t.Errorf("%s: supplement %s = %#x collides with x/sys %s", a.Name, name, nr, gname)
				}
			}
		}
		for name, v := range extraConsts(a) {
			gv, ok := a.generatedConst(name)
			if !ok {
				continue
			}
			if name == "O_LARGEFILE" && (gv == 0 || gv == v) {
				continue // glibc's 0 on 64-bit arches, or agreement
			}
			t.Errorf("%s: x/sys now has %s = %#x (supplement: %#x)", a.Name, name, gv, v)
		}
	}
}

// TestUnderscoreConsts checks the kernel's spellings with leading
// underscores: the same value as x/sys's name without them where the
// kernel defines them so, and the kernel's own bit where the name without
// them adds another (O_TMPFILE is __O_TMPFILE | O_DIRECTORY).
func TestUnderscoreConsts(t *testing.T) {
	for _, a := range All() {
		for name, want := range map[string]uint64{
			"__WALL": 0x40000000, "__WCLONE": 0x80000000, "__WNOTHREAD": 0x20000000,
			// asm-generic/fcntl.h, which none of the seven overrides.
			"__O_TMPFILE": 0o20000000, "__O_SYNC": 0o4000000,
		} {
			if got := mustConst(t, a, name); got != want {
				t.Errorf("%s: %s = %#x, want %#x", a.Name, name, got, want)
			}
		}
		if tmp, dir := mustConst(t, a, "O_TMPFILE"), mustConst(t, a, "O_DIRECTORY"); tmp != mustConst(t, a, "__O_TMPFILE")|dir {
			t.Errorf("%s: O_TMPFILE %#x is not __O_TMPFILE | O_DIRECTORY", a.Name, tmp)
		}
		if v, ok := a.Const("__SO_ACCEPTCON"); ok {
			t.Errorf("%s: __SO_ACCEPTCON = %#x: the kernel's is a socket state flag, not SO_ACCEPTCON", a.Name, v)
		}
		if v, ok := a.Const("__MS_BIND"); ok {
			t.Errorf("%s: __MS_BIND = %#x: underscores are not dropped in general", a.Name, v)
		}
	}
}

// TestStructSizes checks sizeof's table: the sizes per architecture
// (pointers and longs are 4 bytes on i386 and arm only, which also checks
// the table's order of architectures), and that x/sys's own struct and its
// Go names are not C types.
func TestStructSizes(t *testing.T) {
	for _, a := range All() {
		want := map[string]uint64{"sockaddr_in": 16, "sockaddr_in6": 28, "sockaddr_un": 110, "sockaddr_nl": 12,
			"sockaddr_ll": 20, "sockaddr_xdp": 16, "int": 4, "long_long": 8, "open_how": 24}
		if a.Bits == 32 {
			want["msghdr"], want["iovec"], want["long"] = 28, 8, 4
		} else {
			want["msghdr"], want["iovec"], want["long"] = 56, 16, 8
		}
		for name, w := range want {
			if got, ok := a.StructSize(name); !ok || got != w {
				t.Errorf("%s: sizeof(%s) = %d, %v; want %d", a.Name, name, got, ok, w)
			}
		}
		for _, name := range []string{"sockaddr_any", "SockaddrInet4", "SizeofSockaddrInet4", "ptr", "timespec", ""} {
			if v, ok := a.StructSize(name); ok {
				t.Errorf("%s: sizeof(%s) = %d, want none", a.Name, name, v)
			}
		}
		for _, name := range StructNames() {
			if _, ok := a.StructSize(name); !ok {
				t.Errorf("%s: no size for %s", a.Name, name)
			}
		}
	}
}

// TestStructSizesDocumented checks that docs/language.md's table of
// struct sizes has a row for each type, with its x/sys constant.
func TestStructSizesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range structTable {
		row := fmt.Sprintf("| `%s` | `%s` | ", e.name, e.goName)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/language.md has no row %q", row)
		}
	}
}
