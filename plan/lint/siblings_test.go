package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// TestSiblingTableNames: every syscall of the sibling tables exists on
// some architecture, every argument is one the syscall has there, and
// every constant of an equivalent resolves wherever both syscalls exist.
func TestSiblingTableNames(t *testing.T) {
	exists := func(name string) bool {
		for _, a := range arch.All() {
			if _, ok := a.Syscall(name); ok {
				return true
			}
		}
		return false
	}
	var all []string
	for _, f := range families {
		for _, m := range f.members {
			all = append(all, m.syscall)
			// The argument is in a register somewhere (i386's and
			// s390x's mmap take theirs from memory, which position
			// handles).
			if m.arg >= 0 {
				somewhere := false
				for _, a := range arch.All() {
					c := &archLint{a: a}
					if _, ok := a.Syscall(m.syscall); ok && c.position(m) == m.arg {
						somewhere = true
					}
				}
				if !somewhere {
					t.Errorf("family %s: arg%d of %s is in no architecture's registers", f.name, m.arg, m.syscall)
				}
			}
			if m.arg == argMemory && m.why == "" {
				t.Errorf("family %s: %s takes its argument from memory but does not say why", f.name, m.syscall)
			}
		}
	}
	for _, x := range fdArgs {
		all = append(all, x.syscall)
	}
	all = append(all, renumberers...)
	all = append(all, allocators...)
	for _, e := range equivalents {
		all = append(all, e.syscall, e.as)
		for _, a := range arch.All() {
			_, ok1 := a.Syscall(e.syscall)
			_, ok2 := a.Syscall(e.as)
			if !ok1 || !ok2 {
				continue
			}
			c := &archLint{a: a}
			args := e.args
			if e.as == "clone" {
				args = []string{"0", "0", "0", "0", "0"}
				args[a.CloneFlagsArg()] = e.cloneFlags
			}
			if _, ok := c.operands(args); !ok {
				t.Errorf("%s as %s: arguments %v do not resolve on %s", e.syscall, e.as, args, a.Name)
			}
			if n, ok := a.NumArgs(e.as); ok && n != len(args) {
				t.Errorf("%s as %s: %d arguments given, %s takes %d on %s", e.syscall, e.as, len(args), e.as, n, a.Name)
			}
			for _, v := range e.guard {
				if _, ok := c.constant(v); !ok {
					t.Errorf("%s as %s: guard %s does not resolve on %s", e.syscall, e.as, v, a.Name)
				}
			}
		}
	}
	for _, name := range all {
		if !exists(name) {
			t.Errorf("%s is no architecture's syscall", name)
		}
	}
}

// TestSiblingTableDocumented: docs/language.md's table of families lists
// exactly the table's restricted members, its siblings, and in italics
// those that take their argument from memory.
func TestSiblingTableDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "language.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(b), "| what | restricted | siblings |")
	if !ok {
		t.Fatal("docs/language.md has no table of sibling families")
	}
	doc, _, _ = strings.Cut(doc, "\n\n")
	name := regexp.MustCompile("(\\*?)`([a-z0-9_]+)`")
	docRestricted, docMemory, docOther := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, row := range strings.Split(doc, "\n")[2:] {
		cells := strings.Split(row, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[2], -1) {
			docRestricted[m[2]] = true
		}
		for _, m := range name.FindAllStringSubmatch(cells[3], -1) {
			if m[1] == "*" {
				docMemory[m[2]] = true
			} else if m[2] != "AT_EMPTY_PATH" {
				docOther[m[2]] = true
			}
		}
	}
	restricted, memory, other := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range families {
		for _, m := range f.members {
			switch {
			case m.restricts:
				restricted[m.syscall] = true
			case m.arg == argMemory:
				memory[m.syscall] = true
			default:
				other[m.syscall] = true
			}
		}
	}
	for _, c := range []struct {
		what      string
		doc, code map[string]bool
	}{{"restricted", docRestricted, restricted}, {"in memory", docMemory, memory}, {"other siblings", docOther, other}} {
		if d, k := keys(c.doc), keys(c.code); strings.Join(d, " ") != strings.Join(k, " ") {
			t.Errorf("%s: the documentation lists %v, the table %v", c.what, d, k)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
