package testrun

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// TestExampleOnEveryArch compiles examples/metrics for all seven
// architectures and runs its tests: every one must pass everywhere it
// applies.
func TestExampleOnEveryArch(t *testing.T) {
	cfg, diags := hclspec.Load("../../examples/metrics", hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	compiled, diags := resolve.CompileAll(cfg, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(compiled) != len(arch.All()) {
		t.Fatalf("compiled for %d architectures, want %d", len(compiled), len(arch.All()))
	}
	results, diags := Run(cfg, compiled, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	perArch := map[string]int{}
	for _, r := range results {
		perArch[r.Arch.Name]++
		if !r.Pass {
			t.Errorf("%s: want %v, got %v (%s) %s\n%s", r.Name, r.Want, r.Got, r.Rule, r.Mismatch, r.Path)
		}
	}
	if perArch["x86_64"] != 27 || perArch["aarch64"] != 24 {
		t.Errorf("too few tests ran: %v", perArch)
	}
}

// TestFailingTestExplains checks what a failing test reports: the rule that
// decided and the instructions the program ran.
func TestFailingTestExplains(t *testing.T) {
	cfg := configtest.Parse(t, configtest.Service(`rule "log_write" {
    syscalls = ["write"]
    when = arg0 == fd.log
  }`)+`
test "wrong" {
  service = "s"
  syscall = "write"
  args = [1]
  arch = ["x86_64"]
  expect = kill_process
}`)
	compiled, diags := resolve.CompileAll(cfg, []string{"x86_64"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	results, _ := Run(cfg, compiled, nil)
	if len(results) != 1 {
		t.Fatalf("%d results", len(results))
	}
	r := results[0]
	if r.Pass || r.Got != policy.ActAllow || !strings.Contains(r.Rule, `rule "log_write"`) {
		t.Errorf("result %+v", r)
	}
	if !strings.Contains(r.Path, "write") || !strings.Contains(r.Path, "ret") {
		t.Errorf("path does not show the dispatch and the return:\n%s", r.Path)
	}
}

// TestTestArgsTakeTheCallsWidth: a test's negative argument is two's
// complement in the width the kernel reads it with in that call: keyctl's
// -4 is 0xfffffffc after KEYCTL_GET_KEYRING_ID, and the test runs the call
// the kernel would see.
func TestTestArgsTakeTheCallsWidth(t *testing.T) {
	cfg := configtest.Parse(t, `service "s" {
  unit           = "s.service"
  default_action = errno(EPERM)
  rule "user_keyring" {
    syscalls = ["keyctl"]
    when     = arg0 == KEYCTL_GET_KEYRING_ID && arg1 == -4
  }
}

test "the user keyring" {
  service = "s"
  syscall = "keyctl"
  args    = [KEYCTL_GET_KEYRING_ID, -4]
  expect  = allow
}
`)
	compiled, diags := resolve.CompileAll(cfg, []string{"x86_64", "s390x"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	results, diags := Run(cfg, compiled, nil)
	if diags.HasErrors() || len(results) != 2 {
		t.Fatalf("%d results: %v", len(results), diags)
	}
	for _, r := range results {
		if !r.Pass || r.Args[1] != 0xfffffffc {
			t.Errorf("%s: pass %v with args %#x", r.Name, r.Pass, r.Args)
		}
	}
}

// TestExecOnceTestBlocks: a test can expect exec_once, and a failing one
// says what gives it.
func TestExecOnceTestBlocks(t *testing.T) {
	src := configtest.ExecService("", "") + `
test "no exec after start" {
  service = "s"
  syscall = "execve"
  expect  = exec_once
}
test "execve is not refused like the rest" {
  service = "s"
  syscall = "execve"
  arch    = ["x86_64"]
  expect  = errno(ENOSYS)
}
test "execveat gets the default" {
  service = "s"
  syscall = "execveat"
  expect  = kill_process
}
`
	cfg := configtest.Parse(t, src)
	compiled, diags := resolve.CompileAll(cfg, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	results, diags := Run(cfg, compiled, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	passed := map[string]int{}
	for _, r := range results {
		if r.Pass {
			passed[r.Test.Name]++
			continue
		}
		if r.Test.Name != "execve is not refused like the rest" {
			t.Errorf("%s: got %v, want %v: %s", r.Name, r.Got, r.Want, r.Mismatch)
			continue
		}
		if r.Got != policy.ActExecOnce || !strings.HasPrefix(r.Rule, "exec once: no rule names execve") || !strings.Contains(r.Path, "USER_NOTIF: exec once") {
			t.Errorf("failure explained as got %v, rule %q, path\n%s", r.Got, r.Rule, r.Path)
		}
	}
	n := len(arch.All())
	if want := map[string]int{"no exec after start": n, "execveat gets the default": n}; fmt.Sprint(passed) != fmt.Sprint(want) {
		t.Errorf("passed %v, want %v", passed, want)
	}
}
