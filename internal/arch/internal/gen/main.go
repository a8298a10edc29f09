// Command gen writes the syscall and constant tables of package arch
// (zsyscalls.go and zconsts.go) from the golang.org/x/sys/unix sources in the
// module cache.
//
// It reads, for each architecture fencer supports, x/sys's
// zsysnum_linux_GOARCH.go for syscall numbers, and zerrors_linux.go,
// zerrors_linux_GOARCH.go, ztypes_linux.go and ztypes_linux_GOARCH.go for
// named constants. Each table is a function returning a map literal, not a
// package variable: a package-level map literal is built at start-up, for
// every architecture, whatever the command; in a function it is built when an
// architecture is first used. The files are parsed with go/parser; nothing is compiled
// or imported, so every architecture's tables come out on any host.
//
// Usage (from the arch package, through go generate):
//
//	go run ./internal/gen [-out dir] [-xsys dir]
//
// Without -xsys the x/sys directory is found with
// `go list -m -f {{.Dir}} golang.org/x/sys`, i.e. the version in go.mod.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/constant"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// arch pairs fencer's name of an architecture with x/sys's GOARCH and the Go
// identifier suffix of its tables.
type arch struct {
	name, goarch, ident string
}

var arches = []arch{
	{"x86_64", "amd64", "X86_64"},
	{"aarch64", "arm64", "AArch64"},
	{"i386", "386", "I386"},
	{"arm", "arm", "ARM"},
	{"riscv64", "riscv64", "RISCV64"},
	{"ppc64le", "ppc64le", "PPC64LE"},
	{"s390x", "s390x", "S390X"},
}

// notSyscalls are SYS_ constants that are not syscall numbers.
var notSyscalls = map[string]bool{
	// arm: __NR_SYSCALL_MASK (0x0fffff in the kernel, 0 in x/sys), a mask
	// that collides with restart_syscall.
	"SYS_SYSCALL_MASK": true,
	// arm64, riscv64: __NR_arch_specific_syscall (244), the base of the
	// arch-specific range in asm-generic/unistd.h. No syscall has that
	// number; riscv_hwprobe and riscv_flush_icache are base+14 and base+15.
	"SYS_ARCH_SPECIFIC_SYSCALL": true,
}

func main() {
	out := flag.String("out", ".", "directory to write zsyscalls.go and zconsts.go to")
	xsys := flag.String("xsys", "", "golang.org/x/sys module directory (default: from go list)")
	flag.Parse()
	if err := run(*out, *xsys); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, xsys string) error {
	version := ""
	if xsys == "" {
		dir, ver, err := locateXSys()
		if err != nil {
			return err
		}
		xsys, version = dir, ver
	}
	unixDir := filepath.Join(xsys, "unix")
	if _, err := os.Stat(unixDir); err != nil {
		return fmt.Errorf("x/sys unix sources: %w", err)
	}
	source := "golang.org/x/sys/unix"
	if version != "" {
		source += " " + version
	}

	sys, err := genSyscalls(unixDir, source)
	if err != nil {
		return err
	}
	cst, err := genConsts(unixDir, source)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "zsyscalls.go"), sys, 0o644); err != nil {
		return fmt.Errorf("write zsyscalls.go: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "zconsts.go"), cst, 0o644); err != nil {
		return fmt.Errorf("write zconsts.go: %w", err)
	}
	return nil
}

// locateXSys asks the go command where golang.org/x/sys is and which
// version the main module requires.
func locateXSys() (dir, version string, err error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Version}}", "golang.org/x/sys")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m golang.org/x/sys: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	dir, version, _ = strings.Cut(strings.TrimSpace(string(b)), "\t")
	if dir == "" {
		return "", "", errors.New("golang.org/x/sys is not in the module cache (run go mod download golang.org/x/sys)")
	}
	return dir, version, nil
}

// constSpec is one integer constant declared in an x/sys file.
type constSpec struct {
	name  string
	value constant.Value
	kind  string // "", "Errno" or "Signal"
}

// parseConsts returns the integer constants of a Go file: plain integer
// literals (possibly negated) and syscall.Errno(N) / syscall.Signal(N)
// conversions. Anything else (strings, runes, expressions, iota) is skipped.
func parseConsts(path string) ([]constSpec, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var specs []constSpec
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Values) != len(vs.Names) {
				continue
			}
			for i, id := range vs.Names {
				v, kind, ok := intValue(vs.Values[i])
				if !ok {
					continue
				}
				specs = append(specs, constSpec{name: id.Name, value: v, kind: kind})
			}
		}
	}
	return specs, nil
}

func intValue(e ast.Expr) (constant.Value, string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.INT {
			return nil, "", false
		}
		v := constant.MakeFromLiteral(x.Value, x.Kind, 0)
		return v, "", v.Kind() == constant.Int
	case *ast.UnaryExpr:
		if x.Op != token.SUB {
			return nil, "", false
		}
		v, kind, ok := intValue(x.X)
		if !ok || kind != "" {
			return nil, "", false
		}
		return constant.UnaryOp(token.SUB, v, 0), "", true
	case *ast.CallExpr:
		sel, ok := x.Fun.(*ast.SelectorExpr)
		if !ok || len(x.Args) != 1 {
			return nil, "", false
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok || pkg.Name != "syscall" || (sel.Sel.Name != "Errno" && sel.Sel.Name != "Signal") {
			return nil, "", false
		}
		v, kind, ok := intValue(x.Args[0])
		if !ok || kind != "" {
			return nil, "", false
		}
		return v, sel.Sel.Name, true
	}
	return nil, "", false
}

func genSyscalls(unixDir, source string) ([]byte, error) {
	var buf bytes.Buffer
	header(&buf, source, "zsysnum_linux_GOARCH.go")
	for _, a := range arches {
		path := filepath.Join(unixDir, "zsysnum_linux_"+a.goarch+".go")
		specs, err := parseConsts(path)
		if err != nil {
			return nil, err
		}
		table := map[string]int64{}
		byNr := map[int64]string{}
		for _, s := range specs {
			if !strings.HasPrefix(s.name, "SYS_") || notSyscalls[s.name] || s.kind != "" {
				continue
			}
			nr, ok := constant.Int64Val(s.value)
			if !ok || nr < 0 {
				return nil, fmt.Errorf("%s: %s = %v is not a syscall number", path, s.name, s.value)
			}
			name := strings.ToLower(strings.TrimPrefix(s.name, "SYS_"))
			if prev, dup := byNr[nr]; dup {
				return nil, fmt.Errorf("%s: %s and %s share number %d", path, prev, name, nr)
			}
			table[name], byNr[nr] = nr, name
		}
		if len(table) == 0 {
			return nil, fmt.Errorf("%s: no SYS_ constants", path)
		}
		fmt.Fprintf(&buf, "\n// syscalls%s returns %s, %d syscalls, in a new map.\nfunc syscalls%s() map[string]int {\n\treturn map[string]int{\n", a.ident, filepath.Base(path), len(table), a.ident)
		for _, name := range slices.Sorted(maps.Keys(table)) {
			fmt.Fprintf(&buf, "\t%q: %d,\n", name, table[name])
		}
		buf.WriteString("\t}\n}\n")
	}
	return formatSource(buf.Bytes())
}

// Constant families kept for policy authors. A name is kept if it has one of
// the prefixes, is one of the exact names, or is an Errno/Signal value, and
// is not excluded.
var (
	keepPrefixes = []string{
		"AF_", "AT_", "CAP_", "CLOCK_", "CLONE_", "CLOSE_RANGE_", "EFD_", "EPOLL",
		"F_", "FADV_", "FALLOC_FL_", "FSCONFIG_", "FSMOUNT_", "FSOPEN_", "FSPICK_",
		"GRND_", "IN_", "IPC_", "IPPROTO_", "ITIMER_", "KEYCTL_", "LANDLOCK_",
		"LINUX_REBOOT_", "MADV_", "MAP_", "MCL_", "MFD_", "MLOCK_", "MNT_",
		"MOUNT_ATTR_", "MOVE_MOUNT_", "MPOL_", "MREMAP_", "MS_", "MSG_",
		"NETLINK_", "O_", "OPEN_TREE_", "PF_", "PIDFD_", "PKEY_", "POLL", "PR_",
		"PRIO_", "PROT_", "PTRACE_", "RENAME_", "RLIMIT_", "RUSAGE_", "RWF_",
		"S_I", "SCHED_", "SECCOMP_", "SEEK_", "SFD_", "SHM_", "SIG_", "SO_",
		"SOCK_", "SOL_", "SPLICE_F_", "STATX_", "SYNC_FILE_RANGE_", "TCP_",
		"TFD_", "XATTR_",
		// ioctl requests a filter on ioctl(2) reaches for.
		"FIO", "TCGETS", "TCSETS", "TIOC",
	}
	keepExact = map[string]bool{
		"FD_CLOEXEC": true, "RLIM_INFINITY": true, "TIMER_ABSTIME": true,
		"UMOUNT_NOFOLLOW": true,
		"R_OK":            true, "W_OK": true, "X_OK": true, // F_OK is an F_ name
		"P_ALL": true, "P_PID": true, "P_PGID": true, "P_PIDFD": true,
		"WNOHANG": true, "WUNTRACED": true, "WSTOPPED": true, "WEXITED": true,
		"WCONTINUED": true, "WNOWAIT": true, "WALL": true, "WCLONE": true,
		"WNOTHREAD": true,
	}
	// Prefixes inside a kept family that belong to something else.
	dropPrefixes = []string{
		"IN_CLASS", "IN_LOOPBACKNET", // netinet/in.h, not inotify
	}
)

func keep(s constSpec) bool {
	for _, p := range dropPrefixes {
		if strings.HasPrefix(s.name, p) {
			return false
		}
	}
	if s.kind == "Errno" || s.kind == "Signal" {
		return true
	}
	if keepExact[s.name] {
		return true
	}
	for _, p := range keepPrefixes {
		if strings.HasPrefix(s.name, p) {
			return true
		}
	}
	return false
}

func genConsts(unixDir, source string) ([]byte, error) {
	var buf bytes.Buffer
	header(&buf, source, "zerrors_linux.go, zerrors_linux_GOARCH.go, ztypes_linux.go and ztypes_linux_GOARCH.go")
	buf.WriteString(`
// Negative constants (AT_FDCWD, PIDFD_SELF, RUSAGE_CHILDREN, ...) are stored
// as their 64-bit two's complement, the value a sign-extended register holds;
// the low 32 bits are what an int argument carries.
`)
	for _, a := range arches {
		files := []string{
			"zerrors_linux.go", "zerrors_linux_" + a.goarch + ".go",
			"ztypes_linux.go", "ztypes_linux_" + a.goarch + ".go",
		}
		table := map[string]uint64{}
		from := map[string]string{}
		var negative []string
		for _, file := range files {
			specs, err := parseConsts(filepath.Join(unixDir, file))
			if err != nil {
				return nil, err
			}
			for _, s := range specs {
				if !keep(s) {
					continue
				}
				v, neg, err := toUint64(s.value)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", file, s.name, err)
				}
				// The files make up one Go package, so a name cannot be
				// declared twice; check anyway rather than pick silently.
				if prev, dup := from[s.name]; dup && table[s.name] != v {
					return nil, fmt.Errorf("%s: %s declared in %s and %s with different values", a.name, s.name, prev, file)
				}
				table[s.name], from[s.name] = v, file
				if neg {
					negative = append(negative, s.name)
				}
			}
		}
		sort.Strings(negative)
		fmt.Fprintf(&buf, "\n// consts%s returns %d constants for %s (GOARCH %s) in a new map.", a.ident, len(table), a.name, a.goarch)
		if len(negative) > 0 {
			fmt.Fprintf(&buf, "\n// Sign-extended negative values: %s.", strings.Join(negative, ", "))
		}
		fmt.Fprintf(&buf, "\nfunc consts%s() map[string]uint64 {\n\treturn map[string]uint64{\n", a.ident)
		for _, name := range slices.Sorted(maps.Keys(table)) {
			fmt.Fprintf(&buf, "\t%q: %#x,\n", name, table[name])
		}
		buf.WriteString("\t}\n}\n")
	}
	return formatSource(buf.Bytes())
}

// toUint64 converts an integer constant to uint64; negative values that fit
// in int64 become their two's complement.
func toUint64(v constant.Value) (uint64, bool, error) {
	if u, ok := constant.Uint64Val(v); ok {
		return u, false, nil
	}
	if i, ok := constant.Int64Val(v); ok && i < 0 {
		return uint64(i), true, nil
	}
	return 0, false, fmt.Errorf("value %v does not fit in 64 bits", v)
}

func header(buf *bytes.Buffer, source, files string) {
	fmt.Fprintf(buf, "// Code generated by internal/gen from %s; DO NOT EDIT.\n\n", source)
	fmt.Fprintf(buf, "// Source files: %s.\n// Regenerate with go generate ./internal/arch.\n\npackage arch\n", files)
}

func formatSource(src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w", err)
	}
	return out, nil
}
