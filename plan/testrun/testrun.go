// Package testrun runs a configuration's test blocks: each one's call,
// resolved for every architecture its service is compiled for (package
// resolve), is run in fencer's BPF interpreter on the compiled program
// and checked against the policy's meaning and the expected action.
package testrun

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// Result is one test block run on one architecture.
type Result struct {
	Test *hclspec.Test
	Arch *arch.Arch
	// Name is "TEST/ARCH", as go test names subtests.
	Name string
	// Call is the probed syscall, resolved.
	Nr   uint32
	Args [6]uint64
	// Want is the expected action, Got the compiled program's verdict.
	Want, Got policy.Action
	Pass      bool
	// Rule names the rule that decided by the policy's meaning, or says
	// that the default action applied.
	Rule string
	// Expected names the rules that give the expected action to this
	// syscall, or says that only the default action does.
	Expected string
	// Path is the disassembly of the instructions the program executed.
	Path     string
	Executed int
	Elapsed  time.Duration
	// Mismatch is set when the program and the policy's meaning disagree:
	// a compiler bug, reported whatever the test expected.
	Mismatch string
}

// Match selects tests as go test's -run does: the pattern is split at
// slashes, the first part matches the test's name, the second its
// architecture.
type Match struct {
	test, arch *regexp.Regexp
}

// CompileRun compiles a -run pattern ("" matches everything).
func CompileRun(pattern string) (*Match, error) {
	m := &Match{}
	if pattern == "" {
		return m, nil
	}
	parts := splitRun(pattern)
	if len(parts) > 2 {
		return nil, fmt.Errorf("-run %q: a pattern has at most two parts, TEST/ARCH", pattern)
	}
	var err error
	if m.test, err = regexp.Compile(parts[0]); err != nil {
		return nil, fmt.Errorf("invalid -run regular expression: %w", err)
	}
	if len(parts) == 2 {
		if m.arch, err = regexp.Compile(parts[1]); err != nil {
			return nil, fmt.Errorf("invalid -run regular expression: %w", err)
		}
	}
	return m, nil
}

// splitRun splits at slashes outside brackets and parentheses, as go test
// does.
func splitRun(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[', '(':
			depth++
		case ']', ')':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func (m *Match) matches(test, archName string) bool {
	if m == nil {
		return true
	}
	return (m.test == nil || m.test.MatchString(test)) && (m.arch == nil || m.arch.MatchString(archName))
}

// Run runs every test block that run selects (all when nil) on each
// architecture its service is compiled for, narrowed by the test's arch
// list, in the compiled programs' interpreter.
func Run(cfg *hclspec.Config, compiled []*resolve.Compiled, run *Match) ([]Result, hcl.Diagnostics) {
	var out []Result
	var diags hcl.Diagnostics
	for _, t := range cfg.Tests {
		for _, c := range compiled {
			if c.Service.Name != t.Service || !resolve.AppliesTo(t.Arch, c.Arch) || !run.matches(t.Name, c.Arch.Name) {
				continue
			}
			res, d := runTest(t, c)
			diags = append(diags, d...)
			if res != nil {
				out = append(out, *res)
			}
		}
	}
	return out, resolve.MergeArches(diags)
}

// Check resolves every test block for each architecture its service
// is compiled for, without running it: the syscall, the arguments and the
// expected action must exist there.
func Check(cfg *hclspec.Config, compiled []*resolve.Compiled) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range cfg.Tests {
		for _, c := range compiled {
			if c.Service.Name == t.Service && resolve.AppliesTo(t.Arch, c.Arch) {
				_, d := resolve.TestCall(t, c)
				diags = append(diags, d...)
			}
		}
	}
	return resolve.MergeArches(diags)
}

func runTest(t *hclspec.Test, c *resolve.Compiled) (*Result, hcl.Diagnostics) {
	start := time.Now()
	cl, diags := resolve.TestCall(t, c)
	if diags.HasErrors() {
		return nil, diags
	}
	nr, args, want := cl.Nr, cl.Args, cl.Want
	d := policy.Data{Nr: int32(nr), Arch: c.Arch.Audit, Args: args}
	vm, err := bpf.NewVM(c.Program, c.Arch.Order)
	if err != nil {
		rng := t.DeclRange
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid program",
			Detail: fmt.Sprintf("The compiled filter of %s on %s is not a valid program: %v", c.Service.Name, c.Arch.Name, err), Subject: &rng}}
	}
	data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, c.Arch.Order)
	res := vm.Run(data[:], bpf.Options{Trace: true})
	got := policy.ActionFromRet(res.Ret)
	meaning, which := c.Filter.Explain(d)
	tr := &Result{
		Test: t, Arch: c.Arch, Name: t.Name + "/" + c.Arch.Name,
		Nr: uint32(nr), Args: args, Want: want, Got: got, Pass: got == want,
		Rule: ruleName(c.Filter, which), Expected: expectedBy(c.Filter, uint32(nr), want), Executed: res.Executed,
		Path: pathListing(c, res.Path),
	}
	if got != meaning {
		tr.Pass = false
		tr.Mismatch = fmt.Sprintf("the compiled program returns %v but the policy means %v: this is a bug in fencer's compiler", got, meaning)
	}
	tr.Elapsed = time.Since(start)
	return tr, nil
}

// expectedBy says which rules would give the expected action.
func expectedBy(f *policy.Filter, nr uint32, want policy.Action) string {
	if want.Kind == policy.ExecOnce {
		for _, g := range f.ExecOnce {
			if g == nr {
				return "exec once: no rule names execve"
			}
		}
		return "nothing: only execve gets exec_once, when no rule names it, default_action is not log and the loader starts the service (enforce = \"exec\")"
	}
	var names []string
	for _, r := range f.Rules {
		if r.Nr == nr && r.Action == want {
			names = append(names, fmt.Sprintf("%q", r.Name))
		}
	}
	switch {
	case len(names) > 0:
		return "rule " + strings.Join(names, ", rule ")
	case want == f.Default:
		return "default_action, when no rule for this syscall holds"
	}
	return fmt.Sprintf("nothing: no rule gives %v to this syscall and default_action is %v", want, f.Default)
}

func ruleName(f *policy.Filter, which int) string {
	switch which {
	case policy.ByDefault:
		return "no rule holds: default_action " + f.Default.String()
	case policy.ByForeignArch:
		return "foreign architecture"
	case policy.ByX32:
		return "x32 syscall"
	case policy.ByExecOnce:
		return "exec once: no rule names execve, so the loader's execve passes and every later one fails with ENOSYS"
	}
	r := f.Rules[which]
	return fmt.Sprintf("rule %q (%s)", r.Name, r.Syscall)
}

// pathListing disassembles the executed instructions of c's program, in
// order.
func pathListing(c *resolve.Compiled, path []int) string {
	full := strings.Split(strings.TrimRight(c.Disassemble(), "\n"), "\n")
	var b strings.Builder
	for _, pc := range path {
		if pc < len(full) {
			b.WriteString(full[pc])
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// MatchesName reports whether the pattern's first part matches a test
// name.
func (m *Match) MatchesName(name string) bool {
	return m == nil || m.test == nil || m.test.MatchString(name)
}
