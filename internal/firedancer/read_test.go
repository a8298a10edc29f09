package firedancer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds Firedancer's policies (see its SOURCE.md).
const corpusDir = "testdata/corpus"

// corpusFiles returns the corpus's policy files, historical ones included
// when withHistorical.
func corpusFiles(t testing.TB, withHistorical bool) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.seccomppolicy"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	if withHistorical {
		more, _ := filepath.Glob(filepath.Join(corpusDir, "historical", "*.seccomppolicy"))
		files = append(files, more...)
	}
	return files
}

func readPolicy(t testing.TB, path string) *Policy {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := Parse(path, src)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", path, diags.Error())
	}
	return p
}

func TestParseCorpus(t *testing.T) {
	files := corpusFiles(t, true)
	if len(files) != 52 {
		t.Errorf("%d policies in the corpus, want 50 and 2 historical", len(files))
	}
	for _, f := range files {
		p := readPolicy(t, f)
		if len(p.Syscalls) == 0 {
			t.Errorf("%s: no syscalls", f)
		}
		if !strings.HasSuffix(f, p.Name+".seccomppolicy") {
			t.Errorf("%s: name %q", f, p.Name)
		}
	}
}

// TestParseErrors checks the diagnostic and its position for bad input.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src, summary string
		line, col    int
	}{
		{"", "Empty policy", 1, 1},
		{"# a comment only\n\n", "Empty policy", 1, 1},
		{"uint a\nwrite: (eq (arg 0) a", "Unclosed list", 2, 8},
		{"noarg\nwrite: (eq (arg 7) 2)\n", "Invalid argument number", 2, 17},
		{"noarg\nwrite: (ne (arg 0) 2)", "Unknown operator", 2, 9},
		{"noarg\nwrite: (eq (arg 0) FOO)", "Invalid C constant", 2, 20},
		{"noarg\nwrite: (eq (arg 0) \"SOCK_CLOEXEC+1\")", "Invalid C constant", 2, 20},
		{"noarg\nwrite\nread\nwrite", "Duplicate syscall", 4, 1},
		{"int a\nwrite", "Invalid parameter type", 1, 1},
		{"uint a, uint a\nwrite", "Duplicate parameter", 1, 14},
		{"uint a b\nwrite", "Invalid parameter type", 1, 1},
		{"noarg\nwrite: (eq (arg 0) 2))", "Extra text after the expression", 2, 22},
		{"noarg\nmadvise: (eq (arg 3) 0)", "Argument width unknown", 2, 14},
		{"noarg\nuname: (eq (arg 0) 0)", "Argument width unknown", 2, 12},
		{"noarg\nfoo bar", "Invalid syscall name", 2, 1},
		{"noarg\nwrite:  ", "Missing expression", 2, 7},
		{"noarg\nwrite: (or (eq (arg 0) 2)\n  # a comment inside\n       (eq (arg 0) BAD))", "Invalid C constant", 4, 20},
		{"noarg\nwrite: (eq (arg 0) -1)", "Negative number", 2, 20},
		{"noarg\nwrite: (eq (arg 0) 4294967296)", "Number too large", 2, 20},
		{"noarg\nwrite: (eq (arg 0) \"SEEK_SET)", "Unterminated string", 2, 20},
		{"noarg\nwrite: (eq (arg 0) (arg 1))", "Unsupported comparison", 2, 8},
		{"noarg\nwrite: (eq 1 2)", "Unsupported comparison", 2, 8},
		{"noarg\nwrite: (arg 0)", "Not a condition", 2, 8},
		{"noarg\nwrite: (and)", "Missing operands", 2, 8},
		{"noarg\nwrite: (not (eq (arg 0) 1) (eq (arg 0) 2))", "Wrong number of operands", 2, 8},
		{"noarg\nwrite: ()", "Not a condition", 2, 8},
		{"noarg\nwrite: eq", "Not a condition", 2, 8},
		{"noarg\nwrite: )", "Unexpected `)`", 2, 8},
		{"noarg\nwrite: (eq (arg 0) (or))", "Invalid value", 2, 20},
		{"noarg\n\xff", "Invalid UTF-8", 1, 1},
		{"write: (eq (arg 0) 2)\nread", "Malformed signature", 1, 1},
		{"noarg\nwrite: " + strings.Repeat("(not ", 150) + "(eq (arg 0) 2)" + strings.Repeat(")", 150), "Expression nested too deep", 2, 509},
	} {
		_, diags := Parse("p.seccomppolicy", []byte(tc.src))
		if !diags.HasErrors() {
			t.Errorf("%q: no error", tc.src)
			continue
		}
		d := diags[0]
		if d.Summary != tc.summary || d.Subject == nil || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col ||
			d.Subject.Filename != "p.seccomppolicy" {
			t.Errorf("%q: got %s", tc.src, diags.Error())
		}
	}
}

// TestParseSemantics checks what the reader makes of the corner cases of
// the generator's line handling and values.
func TestParseSemantics(t *testing.T) {
	src := "# header\nuint logfile_fd, uint *other\n\n# about write\nwrite: (or (eq 2 (arg 0))\n# inside\n\t(> (arg 0) logfile_fd))\nread\n" +
		"bind: (eq (arg 2) \"sizeof(struct sockaddr_in6)\")\npoll: (eq (arg 2) \"(int)-1\")\n# trailer\n"
	p, diags := Parse("x/y.seccomppolicy", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if p.Name != "y" || len(p.Params) != 2 || p.Params[1].Name != "other" || len(p.Syscalls) != 4 {
		t.Fatalf("parsed %+v", p)
	}
	if got := strings.Join(p.Syscalls[0].Doc, "|"); got != "about write|inside" {
		t.Errorf("write's doc %q", got)
	}
	if got := strings.Join(p.Doc, "|"); got != "header" || strings.Join(p.Trailer, "|") != "trailer" {
		t.Errorf("doc %q, trailer %q", got, p.Trailer)
	}
	or := p.Syscalls[0].Cond.(*Logic)
	if c := or.Args[0].(*Cmp); c.Op != "eq" || !c.Swapped || c.Value.Kind != Number {
		t.Errorf("(eq 2 (arg 0)) read as %+v", c)
	}
	if c := or.Args[1].(*Cmp); c.Op != ">" || c.Value.Kind != ParamRef || c.Arg != 0 {
		t.Errorf("(> (arg 0) logfile_fd) read as %+v", c)
	}
	for _, tc := range []struct {
		i      int
		lo, hi uint32
	}{{2, 28, 0}, {3, 0xffffffff, 0xffffffff}} {
		lo, hi, err := p.Syscalls[tc.i].Cond.(*Cmp).Value.words(nil)
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("%s: words %#x %#x %v, want %#x %#x", p.Syscalls[tc.i].Name, lo, hi, err, tc.lo, tc.hi)
		}
	}
}
