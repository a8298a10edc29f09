package draft

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/testrun"
)

// Check proves that a configuration lets the recorded program run again:
// files (a configuration's files, name to content, as hclspec.Parse
// takes them) must parse and compile for the recording's architecture,
// their test blocks must pass, and the filter of the named service, run
// in fencer's BPF interpreter and by the policy's meaning, must allow
// every call of the recording — but the execve that started the program,
// which the exec-once gate lets through, and clone3 where the policy
// answers it ENOSYS so that glibc falls back to clone, whose flags the
// policy then checks. A call through another architecture's entry point
// or with a number fencer cannot name is an error too: every fencer
// filter kills it.
func Check(rec *observe.Recording, files map[string][]byte, service string) error {
	return check(rec, files, service, false)
}

// check is Check; lenient skips the calls no policy can allow (Write
// writes them in its header).
func check(rec *observe.Recording, files map[string][]byte, service string, lenient bool) error {
	a, ok := arch.Lookup(rec.Arch)
	if !ok {
		return fmt.Errorf("unknown architecture %q", rec.Arch)
	}
	c, err := compileFor(files, service, a)
	if err != nil {
		return err
	}
	vm, err := bpf.NewVM(c.Program, a.Order)
	if err != nil {
		return fmt.Errorf("service %s on %s: %w", service, a.Name, err)
	}
	an := analyze(rec, a)
	var bad []string
	for i := range rec.Calls {
		call := &rec.Calls[i]
		name := an.calls[i].name
		if name == "" {
			if !lenient {
				bad = append(bad, describeCall(i, call, fmt.Sprintf("syscall %d", call.Nr), "killed before any rule (another architecture's entry point, or a number fencer has no name for)"))
			}
			continue
		}
		d := policy.Data{Nr: int32(call.Nr), Arch: a.Audit, Args: call.Args}
		want := c.Filter.Decide(d)
		data := bpf.MakeData(d.Nr, d.Arch, 0, d.Args, a.Order)
		got := vm.Run(data[:], bpf.Options{})
		if policy.ActionFromRet(got.Ret) != want {
			bad = append(bad, describeCall(i, call, name, fmt.Sprintf("the filter says %s, the policy %s", policy.ActionFromRet(got.Ret), want)))
			continue
		}
		if !acceptable(an, i, name, want) {
			bad = append(bad, describeCall(i, call, name, want.String()))
		}
	}
	if len(bad) > 0 {
		more := ""
		if len(bad) > 10 {
			more = fmt.Sprintf("\n(and %d more)", len(bad)-10)
			bad = bad[:10]
		}
		return fmt.Errorf("service %s on %s does not allow %s:\n%s%s", service, a.Name, plural(len(bad), "recorded call"), strings.Join(bad, "\n"), more)
	}
	return nil
}

// acceptable reports whether the action the policy gives call i lets the
// workload run as recorded.
func acceptable(an *analysis, i int, name string, act policy.Action) bool {
	switch {
	case act.Kind == policy.Allow:
		return true
	case i == an.firstExec:
		return act.Kind == policy.ExecOnce
	case name == "clone3":
		return act.Kind == policy.Errno && act.Data == enosys
	}
	return false
}

// enosys is ENOSYS, the same on every architecture fencer knows.
const enosys = 38

func describeCall(i int, c *observe.Call, name, verdict string) string {
	args := make([]string, 6)
	for k, v := range c.Args {
		args[k] = fmt.Sprintf("%#x", v)
	}
	return fmt.Sprintf("  call %d (pid %d, tid %d): %s(%s): %s", i, c.PID, c.TID, name, strings.Join(args, ", "), verdict)
}

// compileFor parses files and compiles the service for a, running its
// tests: each test block's call, on the compiled filter and by the
// policy's meaning, must get the action it expects.
func compileFor(files map[string][]byte, service string, a *arch.Arch) (*resolve.Compiled, error) {
	cfg, diags := hclspec.Parse(files, hclspec.LoadOptions{})
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	compiled, diags := resolve.CompileAll(cfg, []string{a.Name})
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if diags := testrun.Check(cfg, compiled); diags.HasErrors() {
		return nil, diagError(diags)
	}
	c, err := resolve.Find(compiled, service, a.Name)
	if err != nil {
		return nil, err
	}
	vm, err := bpf.NewVM(c.Program, a.Order)
	if err != nil {
		return nil, fmt.Errorf("service %s on %s: %w", service, a.Name, err)
	}
	var failed []string
	for _, t := range cfg.Tests {
		if t.Service != service || !resolve.AppliesTo(t.Arch, a) {
			continue
		}
		call, diags := resolve.TestCall(t, c)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		d := policy.Data{Nr: int32(call.Nr), Arch: a.Audit, Args: call.Args}
		data := bpf.MakeData(d.Nr, d.Arch, 0, d.Args, a.Order)
		got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		if meaning := c.Filter.Decide(d); got != call.Want || meaning != call.Want {
			failed = append(failed, fmt.Sprintf("  test %q on %s: expected %s, the filter says %s, the policy %s", t.Name, a.Name, call.Want, got, meaning))
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("tests fail:\n%s", strings.Join(failed, "\n"))
	}
	return c, nil
}

// diagError is the errors among diags, one a line.
func diagError(diags hcl.Diagnostics) error {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = d.Subject.String() + ": " + s
		}
		lines = append(lines, s)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// plural is "1 call" or "n calls".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "s") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
