package resolve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/configtest"
)

// TestTooLongNamesLargestRule compiles a service whose program is too long
// because of a rule with fewer comparisons than another but more
// instructions (pairs of comparisons on two arguments, each loading its
// word, against one argument compared with a list): the diagnostic points
// at that rule and its detail names it first, with its syscall and size.
func TestTooLongNamesLargestRule(t *testing.T) {
	var list, pairs []string
	for i := 0; i < 2000; i++ {
		list = append(list, fmt.Sprint(3*i+3))
	}
	for i := 0; i < 700; i++ {
		pairs = append(pairs, fmt.Sprintf("(arg1 == %d && arg2 == %d)", i, 2*i))
	}
	src := configtest.Service(`  rule "many_fds" {
    syscalls = ["write"]
    when     = contains([` + strings.Join(list, ", ") + `], arg0)
  }

  rule "pairs" {
    syscalls = ["lseek"]
    when     = ` + strings.Join(pairs, " || ") + `
  }
`)
	cfg := configtest.Parse(t, src)
	_, diags := Compile(cfg.Services[0], arch.X86_64)
	if !diags.HasErrors() {
		t.Fatal("the filter compiled")
	}
	d := diags[len(diags)-1]
	if d.Summary != "Filter too long" || d.Subject == nil {
		t.Fatalf("diagnostic: %v", d)
	}
	if want := strings.Count(src[:strings.Index(src, `rule "pairs"`)], "\n") + 1; d.Subject.Start.Line != want {
		t.Errorf("the diagnostic points at line %d, want %d (rule \"pairs\"): %s", d.Subject.Start.Line, want, d.Detail)
	}
	if !strings.Contains(d.Detail, `rule "pairs" takes `) || !strings.Contains(d.Detail, "(lseek), rule \"many_fds\"") {
		t.Errorf("detail: %s", d.Detail)
	}
	t.Log(d.Detail)
}

// TestDisassembleLongProgram disassembles a program long enough that the
// syscalls' blocks sit within the dispatch, and requires the dispatch's
// comparisons after a block to name their syscalls too.
func TestDisassembleLongProgram(t *testing.T) {
	var rules strings.Builder
	for i, name := range []string{"read", "write", "close", "fstat", "lseek", "mmap", "mprotect", "pread64", "pwrite64", "readv", "writev"} {
		var vs []string
		for v := 0; v < 30; v++ {
			vs = append(vs, fmt.Sprint(1000*i+v))
		}
		fmt.Fprintf(&rules, "  rule %q {\n    syscalls = [%q]\n    when     = contains([%s], arg0)\n  }\n", "r_"+name, name, strings.Join(vs, ", "))
	}
	cfg := configtest.Parse(t, configtest.Service(rules.String()))
	c, diags := Compile(cfg.Services[0], arch.X86_64)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	lines := strings.Split(c.Disassemble(), "\n")
	firstArg, named := -1, 0
	for i, l := range lines {
		if firstArg < 0 && strings.Contains(l, "; arg0") {
			firstArg = i
		}
		if firstArg >= 0 && strings.Contains(l, "jeq") && strings.Contains(l, "  ; ") {
			named++
		}
	}
	if firstArg < 0 || named == 0 {
		t.Errorf("no comparison of the syscall number after the first block names its syscall:\n%s", c.Disassemble())
	}
}

// TestArchesService checks the one answer to which architectures a
// service is for: its hosts' declared architectures, narrowed by its arch
// list and by -arch; every architecture narrowed by its arch list when a
// host's is discovered.
func TestArchesService(t *testing.T) {
	cfg := configtest.Parse(t, `
host "a" {
  arch = "x86_64"
}
host "b" {
  arch = "aarch64"
}
host "c" {}

service "declared" {
  unit  = "declared.service"
  hosts = ["a", "b"]
  arch  = ["s390x", "aarch64", "x86_64"]
}

service "discovered" {
  unit  = "discovered.service"
  hosts = ["c"]
  arch  = ["s390x", "i386"]
}

service "unlimited" {
  unit  = "unlimited.service"
  hosts = ["a", "b"]
}
`)
	names := func(as []*arch.Arch) string {
		var out []string
		for _, a := range as {
			out = append(out, a.Name)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		svc  int
		only []string
		want string
	}{
		{0, nil, "x86_64 aarch64"},
		{0, []string{"aarch64", "s390x"}, "aarch64"},
		{1, nil, "i386 s390x"},
		{1, []string{"x86_64"}, ""},
		{2, nil, "x86_64 aarch64"},
	} {
		svc := cfg.Services[c.svc]
		if got := names(Arches(cfg, svc, c.only)); got != c.want {
			t.Errorf("Arches(%s, %v) = %q, want %q", svc.Name, c.only, got, c.want)
		}
	}
}
