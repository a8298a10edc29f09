// Command gen writes the syscall and constant tables of package arch
// (zsyscalls.go and zconsts.go) from the golang.org/x/sys/unix sources in the
// module cache.
//
// It reads, for each architecture fencer supports, x/sys's
// zsysnum_linux_GOARCH.go for syscall numbers, zerrors_linux.go,
// zerrors_linux_GOARCH.go, ztypes_linux.go and ztypes_linux_GOARCH.go for
// named constants and the Sizeof constants, and unix/linux/types.go for the
// C type each Sizeof constant is the size of. A syscall table is a function
// returning a map literal, not a package variable: a package-level map
// literal is built at start-up, for every architecture, whatever the
// command; in a function it is built when an architecture is first used.
// The constants and struct sizes, about 10,000 names, are package-level
// arrays of constants instead, which the linker lays out as data and
// nothing builds. The files are parsed with go/parser; nothing is compiled
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
	"math"
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
	var specs []constSpec
	err := eachConst(path, func(name string, value ast.Expr) error {
		if v, kind, ok := intValue(value); ok {
			specs = append(specs, constSpec{name: name, value: v, kind: kind})
		}
		return nil
	})
	return specs, err
}

// eachConst calls each with the name and value of every constant of a Go
// file declared with a value of its own (not iota's repetition).
func eachConst(path string, each func(name string, value ast.Expr) error) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
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
				if err := each(id.Name, vs.Values[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
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

// kernelName reports whether an x/sys constant is one of the kernel's (or
// the C library's, for the same ABI) named constants, which a policy may
// write: every exported name spelled as C spells constants. The others are
// x/sys's own: unexported helpers (_HIDIOCGRAWNAME, _CPU_SETSIZE) and Go
// names (SizeofSockaddrInet4, PathMax, PerfBitDisabled), which start with
// a capital followed by a lower-case letter. The Sizeof constants are read
// separately, as struct sizes.
func kernelName(name string) bool {
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return false
	}
	return len(name) == 1 || !(name[1] >= 'a' && name[1] <= 'z')
}

// archConsts reads one architecture's constants: name -> value, and the
// names of those that are negative. A name declared twice with different
// values is an error, and so is one that does not fit 64 bits: neither
// can be picked silently.
func archConsts(unixDir string, a arch) (map[string]uint64, []string, error) {
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
			return nil, nil, err
		}
		for _, s := range specs {
			if !kernelName(s.name) {
				continue
			}
			v, neg, err := toUint64(s.value)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %s: %w", a.name, file, s.name, err)
			}
			// The files make up one Go package, so a name cannot be
			// declared twice; check anyway rather than pick silently.
			if prev, dup := from[s.name]; dup && table[s.name] != v {
				return nil, nil, fmt.Errorf("%s: %s declared in %s and %s with different values", a.name, s.name, prev, file)
			}
			table[s.name], from[s.name] = v, file
			if neg {
				negative = append(negative, s.name)
			}
		}
	}
	sort.Strings(negative)
	return table, negative, nil
}

// genConsts writes every architecture's constants as one sorted table of
// names with the value most architectures give each, and for each
// architecture the entries where it differs (another value, or no such
// constant): package-level arrays of constants, which the linker lays out
// as data, so nothing is built at start-up or on first use.
func genConsts(unixDir, source string) ([]byte, error) {
	tables := make([]map[string]uint64, len(arches))
	negatives := map[string]bool{}
	union := map[string]bool{}
	for i, a := range arches {
		t, neg, err := archConsts(unixDir, a)
		if err != nil {
			return nil, err
		}
		tables[i] = t
		for _, n := range neg {
			negatives[n] = true
		}
		for n := range t {
			union[n] = true
		}
	}
	names := slices.Sorted(maps.Keys(union))
	if len(names) > math.MaxUint16 {
		return nil, fmt.Errorf("%d constants do not fit constDiff's uint16 index", len(names))
	}
	var buf bytes.Buffer
	header(&buf, source, "zerrors_linux.go, zerrors_linux_GOARCH.go, ztypes_linux.go and ztypes_linux_GOARCH.go")
	fmt.Fprintf(&buf, `
// Negative constants are stored as their 64-bit two's complement, the value
// a sign-extended register holds; the low 32 bits are what an int argument
// carries:
%s

// constTable is every constant of every architecture, %d names sorted, each
// with the value most architectures give it; constDiffs* say where an
// architecture differs.
var constTable = [...]constEntry{
`, wrapComment(strings.Join(slices.Sorted(maps.Keys(negatives)), ", ")+"."), len(names))
	common := make([]uint64, len(names))
	for i, n := range names {
		common[i] = commonValue(tables, n)
		fmt.Fprintf(&buf, "\t{%q, %#x},\n", n, common[i])
	}
	buf.WriteString("}\n")
	for ai, a := range arches {
		var diffs []string
		for i, n := range names {
			v, ok := tables[ai][n]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("\t{%d, true, 0}, // %s\n", i, n))
			case v != common[i]:
				diffs = append(diffs, fmt.Sprintf("\t{%d, false, %#x}, // %s\n", i, v, n))
			}
		}
		fmt.Fprintf(&buf, "\n// constDiffs%s is where %s (GOARCH %s), with %d constants, differs from constTable.\nvar constDiffs%s = [...]constDiff{\n",
			a.ident, a.name, a.goarch, len(tables[ai]), a.ident)
		buf.WriteString(strings.Join(diffs, ""))
		buf.WriteString("}\n")
	}
	if err := genStructs(&buf, unixDir); err != nil {
		return nil, err
	}
	return formatSource(buf.Bytes())
}

// notStructs are x/sys's Sizeof constants that are no C type of the
// kernel's ABI: a struct of x/sys's own, and the size of a pointer.
var notStructs = map[string]bool{
	"SizeofSockaddrAny": true, // x/sys's struct sockaddr_any
	"SizeofPtr":         true, // a pointer: the size of long on Linux
}

// structNames maps x/sys's Sizeof constants to the C type each is the
// size of, from x/sys's unix/linux/types.go, the cgo -godefs input of
// ztypes_linux*.go: SizeofSockaddrInet4 = C.sizeof_struct_sockaddr_in is
// sockaddr_in, C.sizeof_union_tcp_cc_info tcp_cc_info, C.sizeof_longlong
// long_long.
func structNames(unixDir string) (map[string]string, error) {
	path := filepath.Join(unixDir, "linux", "types.go")
	out := map[string]string{}
	err := eachConst(path, func(name string, value ast.Expr) error {
		if !strings.HasPrefix(name, "Sizeof") || notStructs[name] {
			return nil
		}
		sel, ok := value.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "sizeof_") {
			return fmt.Errorf("%s: %s is not C.sizeof_TYPE", path, name)
		}
		c := strings.TrimPrefix(sel.Sel.Name, "sizeof_")
		c = strings.TrimPrefix(strings.TrimPrefix(c, "struct_"), "union_")
		if c == "longlong" {
			c = "long_long"
		}
		out[name] = c
		return nil
	})
	return out, err
}

// genStructs writes the sizes of the C types x/sys has a Sizeof constant
// for, each with its size on every architecture (in arches' order, 0 where
// it has none): every such constant must map to a C type (structNames) or
// be one of notStructs, so that a new one is not left out unnoticed.
func genStructs(buf *bytes.Buffer, unixDir string) error {
	cnames, err := structNames(unixDir)
	if err != nil {
		return err
	}
	sizes := map[string][]uint64{}
	goName := map[string]string{}
	for ai, a := range arches {
		for _, file := range []string{"ztypes_linux.go", "ztypes_linux_" + a.goarch + ".go"} {
			specs, err := parseConsts(filepath.Join(unixDir, file))
			if err != nil {
				return err
			}
			for _, s := range specs {
				if !strings.HasPrefix(s.name, "Sizeof") || notStructs[s.name] {
					continue
				}
				c, ok := cnames[s.name]
				if !ok {
					return fmt.Errorf("%s: %s: no C type in types.go", file, s.name)
				}
				v, ok := constant.Uint64Val(s.value)
				if !ok || v > math.MaxUint16 {
					return fmt.Errorf("%s: %s = %v is not a size", file, s.name, s.value)
				}
				if sizes[c] == nil {
					sizes[c] = make([]uint64, len(arches))
				}
				sizes[c][ai], goName[c] = v, s.name
			}
		}
	}
	fmt.Fprintf(buf, "\n// structTable is the size of each C type x/sys has a Sizeof constant for, %d\n// sorted by name, on %s.\nvar structTable = [...]structEntry{\n",
		len(sizes), archNames())
	for _, c := range slices.Sorted(maps.Keys(sizes)) {
		vals := make([]string, len(arches))
		for i, v := range sizes[c] {
			vals[i] = fmt.Sprint(v)
		}
		fmt.Fprintf(buf, "\t{%q, %q, [%d]uint16{%s}},\n", c, goName[c], len(arches), strings.Join(vals, ", "))
	}
	buf.WriteString("}\n")
	return nil
}

// archNames spells the architectures in arches' order.
func archNames() string {
	names := make([]string, len(arches))
	for i, a := range arches {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

// wrapComment makes s lines of a comment of at most 78 characters.
func wrapComment(s string) string {
	var b strings.Builder
	line := "//"
	for _, w := range strings.Fields(s) {
		if len(line)+1+len(w) > 78 {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + w
	}
	b.WriteString(line)
	return b.String()
}

// commonValue is the value most architectures that have the constant give
// it; of values as frequent, the first to reach that count, in arches'
// order.
func commonValue(tables []map[string]uint64, name string) uint64 {
	count := map[uint64]int{}
	best, bestN := uint64(0), 0
	for _, t := range tables {
		v, ok := t[name]
		if !ok {
			continue
		}
		count[v]++
		if count[v] > bestN {
			best, bestN = v, count[v]
		}
	}
	return best
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
