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
