package codecheck

import (
	"bufio"
	"go/ast"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// notCode are the dotted names docs/architecture.md quotes that are not
// Go: the language's own references, a unit's name, and the document's
// own pattern.
var notCode = map[string]bool{
	"fd.logfile":          true,
	"fd.metrics_socket":   true,
	"metrics.service":     true,
	"package.Function":    true,
	"package.Type.Method": true,
}

// goNames is what a package of the module declares: its package-level
// functions, types, variables and constants by name, and its methods
// (and interface methods, embedded ones included) as Type.Method.
type goNames map[string]bool

// declaredNames returns the names each package directory of the module
// declares, by the directory's path from the module root.
func declaredNames(t *testing.T) map[string]goNames {
	t.Helper()
	byDir := map[string]goNames{}
	// interfaces and what they embed, resolved once every file is read.
	type iface struct {
		dir, name string
		methods   []string
		embeds    []string
	}
	var ifaces []iface
	for _, f := range sourceFiles(t) {
		dir := filepath.ToSlash(filepath.Dir(f.path))
		names := byDir[dir]
		if names == nil {
			names = goNames{}
			byDir[dir] = names
		}
		for _, decl := range f.file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) == 0 {
					names[d.Name.Name] = true
					continue
				}
				recv := strings.TrimPrefix(typeName(d.Recv.List[0].Type), "*")
				names[recv+"."+d.Name.Name] = true
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = true
						it, ok := s.Type.(*ast.InterfaceType)
						if !ok {
							continue
						}
						i := iface{dir: dir, name: s.Name.Name}
						for _, m := range it.Methods.List {
							if len(m.Names) == 0 {
								i.embeds = append(i.embeds, typeName(m.Type))
								continue
							}
							for _, n := range m.Names {
								i.methods = append(i.methods, n.Name)
							}
						}
						ifaces = append(ifaces, i)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
	}
	byName := map[string]iface{}
	for _, i := range ifaces {
		byName[i.dir+" "+i.name] = i
	}
	var methodsOf func(dir, name string, depth int) []string
	methodsOf = func(dir, name string, depth int) []string {
		i, ok := byName[dir+" "+name]
		if !ok || depth > 10 {
			return nil
		}
		out := append([]string(nil), i.methods...)
		for _, e := range i.embeds {
			out = append(out, methodsOf(dir, e, depth+1)...)
		}
		return out
	}
	for _, i := range ifaces {
		for _, m := range methodsOf(i.dir, i.name, 0) {
			byDir[i.dir][i.name+"."+m] = true
		}
	}
	return byDir
}

// modulePackages returns the directories of the module that hold Go
// files (test-only packages such as e2e included), from the module root.
func modulePackages(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	walkGo(t, func(rel, _ string) error {
		seen[path.Dir(rel)] = true
		return nil
	})
	var out []string
	for dir := range seen {
		out = append(out, dir)
	}
	sort.Strings(out)
	return out
}

// architectureDoc is docs/architecture.md split into its prose (inline
// code included) and its fenced code blocks, with the line each starts.
type architectureDoc struct {
	prose  []docLine
	blocks [][]docLine
}

type docLine struct {
	n    int
	text string
}

func readArchitectureDoc(t *testing.T) architectureDoc {
	t.Helper()
	f, err := os.Open(filepath.Join(moduleRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc architectureDoc
	var block []docLine
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if inBlock {
				doc.blocks = append(doc.blocks, block)
				block = nil
			}
			inBlock = !inBlock
			continue
		}
		if inBlock {
			block = append(block, docLine{n, line})
		} else {
			doc.prose = append(doc.prose, docLine{n, line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return doc
}

var (
	inlineCode = regexp.MustCompile("`([^`]+)`")
	// goRef is pkg.Name or pkg.Type.Method, pkg a path from the module
	// root or its last element.
	goRef = regexp.MustCompile(`^([a-z][a-z0-9]*(?:/[a-z][a-z0-9]*)*)\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$`)
	// tableRow is a row of the package tables: | `dir` | what it does |
	tableRow = regexp.MustCompile("^\\| `([a-z0-9/-]+)` \\|")
)

// TestArchitectureNames fails when docs/architecture.md names a function,
// type, method or value that the package it names does not declare, names
// a dotted thing that is neither Go nor one of notCode, or leaves a
// package of the module out of its tables (or lists one that is gone).
func TestArchitectureNames(t *testing.T) {
	names := declaredNames(t)
	packages := modulePackages(t)
	// The short names the document uses: a directory's last element, or
	// its whole path when that is ambiguous.
	short := map[string][]string{}
	for _, dir := range packages {
		short[filepath.Base(dir)] = append(short[filepath.Base(dir)], dir)
	}
	doc := readArchitectureDoc(t)
	listed := map[string]bool{}
	checked := 0
	for _, l := range doc.prose {
		if m := tableRow.FindStringSubmatch(l.text); m != nil {
			listed[m[1]] = true
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(l.text, -1) {
			ref := m[1]
			g := goRef.FindStringSubmatch(ref)
			if g == nil || notCode[ref] {
				continue
			}
			pkg, name := g[1], g[2]
			if g[3] != "" {
				name += "." + g[3]
			}
			dirs := []string{pkg}
			if !strings.Contains(pkg, "/") {
				dirs = short[pkg]
			}
			switch {
			case len(dirs) == 0 || names[dirs[0]] == nil && !contains(packages, dirs[0]):
				t.Errorf("docs/architecture.md:%d: `%s`: no package %q in the module (a name that is not Go goes in notCode)", l.n, ref, pkg)
			case len(dirs) > 1:
				t.Errorf("docs/architecture.md:%d: `%s`: %q is %s: write the package's path", l.n, ref, pkg, strings.Join(dirs, " and "))
			case !names[dirs[0]][name]:
				t.Errorf("docs/architecture.md:%d: `%s`: package %s declares no %s", l.n, ref, dirs[0], name)
			default:
				checked++
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d Go names found in docs/architecture.md; the trip of a rule names more", checked)
	}
	for _, dir := range packages {
		if !listed[dir] {
			t.Errorf("docs/architecture.md: package %s is in no table of the packages", dir)
		}
	}
	for dir := range listed {
		if !contains(packages, dir) {
			t.Errorf("docs/architecture.md: lists package %s, which the module does not have", dir)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestArchitectureDisassembly fails when the excerpt of `fencer show -bpf`
// in docs/architecture.md is no longer what the metrics example compiles
// to on x86_64: each instruction line it quotes must be in the program.
func TestArchitectureDisassembly(t *testing.T) {
	root := moduleRoot(t)
	cfg, diags := hclspec.Load(filepath.Join(root, "examples", "metrics"), hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	all, diags := resolve.CompileAll(cfg, []string{"x86_64"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	compiled, err := resolve.Find(all, "metrics", "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	program := map[string]bool{}
	for _, line := range strings.Split(compiled.Disassemble(), "\n") {
		program[strings.TrimSpace(line)] = true
	}
	quoted := 0
	for _, block := range readArchitectureDoc(t).blocks {
		for _, l := range block {
			if !insnLine.MatchString(l.text) {
				continue
			}
			quoted++
			if !program[strings.TrimSpace(l.text)] {
				t.Errorf("docs/architecture.md:%d: %q is not in the metrics example's x86_64 program (fencer show -bpf -arch=x86_64 examples/metrics service.metrics)", l.n, l.text)
			}
		}
	}
	if quoted == 0 {
		t.Error("docs/architecture.md quotes no instruction of fencer show -bpf")
	}
}

// insnLine is a line of fencer show -bpf: a pc, an instruction, a note.
var insnLine = regexp.MustCompile(`^\d{4}: `)
