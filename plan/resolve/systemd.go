package resolve

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// SystemdPolicy is a policy as systemd enforces it under enforce =
// "systemd": SystemCallFilter= names whole syscalls, so each syscall gets
// one verdict whatever its arguments. That verdict is the most restrictive
// one the policy can give the syscall: the action of every rule that names
// it, and the default action too unless a rule names it without a
// condition. So a syscall the policy allows only under a condition is
// denied outright ("deny wins"), never allowed whatever its arguments.
type SystemdPolicy struct {
	// Calls are the syscalls whose verdict is not the default action, by
	// number.
	Calls []SystemdCall
	// Narrowed are the conditions systemd cannot enforce, each with the
	// verdict its syscall gets instead.
	Narrowed []Narrowed
}

// SystemdCall is one syscall's verdict under systemd.
type SystemdCall struct {
	// Name is the syscall's name in the architecture's table, which is
	// how systemd (libseccomp) knows it.
	Name   string
	Nr     uint32
	Action policy.Action
	// Rule names the rule that gives the verdict.
	Rule string
}

// Narrowed is a rule condition that enforce = "systemd" cannot enforce.
type Narrowed struct {
	Rule    string
	Syscall string
	// Allows is set for a rule whose action is weaker than the verdict
	// the syscall gets: the rule's own action no longer applies.
	Allows bool
	// Verdict is what the syscall gets whatever its arguments.
	Verdict policy.Action
}

// systemdModel computes the systemd verdict of every syscall of f (see
// SystemdPolicy) and returns it with the filter that has the same meaning
// as systemd's (every rule unconditional), which fencer test and show run.
// Diagnostics are errors for what systemd cannot express at all (trap and
// kill_thread, a default other than kill_process and errno, an execve it
// could not start the service with) and a warning for each condition it
// cannot enforce.
func systemdModel(svc *hclspec.Service, f *policy.Filter, a *arch.Arch) (*SystemdPolicy, *policy.Filter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	errorf := func(rng hcl.Range, summary, format string, args ...any) {
		rng2 := rng
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
			Detail: fmt.Sprintf(format, args...), Subject: &rng2, Extra: archOf{a.Name}})
	}
	rules := map[string]*hclspec.Rule{}
	for _, r := range svc.Rules {
		rules[r.Name] = r
	}
	ruleRange := func(name string) hcl.Range {
		if r := rules[name]; r != nil {
			return r.DeclRange
		}
		return svc.DeclRange
	}
	actionRange := func(name string) hcl.Range {
		if r := rules[name]; r != nil && r.Action.Range.Filename != "" {
			return r.Action.Range
		}
		return ruleRange(name)
	}
	whenRange := func(name string) hcl.Range {
		if r := rules[name]; r != nil && r.When != nil {
			return r.When.Range()
		}
		return ruleRange(name)
	}
	switch {
	case f.Default.Kind == policy.Errno && f.Default.Data == 0:
		// A rule's errno(0) is "~NAME:0", which systemd takes; the
		// default is SystemCallErrorNumber=, which refuses 0 ("Invalid
		// error number, ignoring: 0"), so systemd would kill instead and
		// apply's systemd-analyze verify fails on the warning.
		rng := svc.DefaultAction.Range
		if rng.Filename == "" {
			rng = svc.DeclRange
		}
		errorf(rng, "Default action systemd cannot enforce",
			"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and its SystemCallErrorNumber= takes an errno from 1 up: it refuses errno(0) and would kill the process instead. Use another errno, or enforce = \"exec\".")
	case f.Default.Kind == policy.KillProcess, f.Default.Kind == policy.Errno:
	default:
		rng := svc.DefaultAction.Range
		if rng.Filename == "" {
			rng = svc.DeclRange
		}
		errorf(rng, "Default action systemd cannot enforce",
			"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and it can kill the process or fail a call with an errno, not %s. Use default_action = kill_process or errno(...), or enforce = \"exec\".", f.Default)
	}

	sp := &SystemdPolicy{}
	model := *f
	model.Rules = nil
	for _, nr := range f.Syscalls() {
		var named []policy.Rule
		unconditional := false
		for _, r := range f.Rules {
			if r.Nr != nr {
				continue
			}
			named = append(named, r)
			if r.When == policy.Const(true) {
				unconditional = true
			}
		}
		name, ok := a.SyscallName(int(nr))
		if !ok && len(named) > 0 {
			name = named[0].Syscall
		}
		// The verdicts the policy can give the syscall, and the most
		// restrictive of them (the first declared among equals, the
		// default before any rule).
		possible := []policy.Action{}
		verdict, rule := f.Default, ""
		if !unconditional {
			possible = append(possible, f.Default)
		}
		for i, r := range named {
			possible = append(possible, r.Action)
			if (unconditional && i == 0) || r.Action.Precedence() > verdict.Precedence() {
				verdict, rule = r.Action, r.Name
			}
		}
		depends := false
		for _, v := range possible {
			depends = depends || v != verdict
		}
		for _, r := range named {
			switch r.Action.Kind {
			case policy.Trap, policy.KillThread:
				errorf(actionRange(r.Name), "Action systemd cannot enforce",
					"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and it cannot give %s to %s: it allows, logs, fails with an errno or kills the process. Use another action, or enforce = \"exec\".", r.Action, r.Syscall)
			}
			if !depends || r.When == policy.Const(true) {
				continue
			}
			n := Narrowed{Rule: r.Name, Syscall: r.Syscall, Allows: r.Action.Precedence() < verdict.Precedence(), Verdict: verdict}
			sp.Narrowed = append(sp.Narrowed, n)
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning,
				Summary: "Condition not enforced with enforce = \"systemd\"",
				Detail: fmt.Sprintf("systemd's SystemCallFilter= names whole syscalls and cannot look at arguments, so on %s %s. Use enforce = \"exec\" to enforce the condition, or drop it to allow %s whatever its arguments.",
					a.Name, n.String(), r.Syscall),
				Subject: ptr(whenRange(r.Name)), Extra: archOf{a.Name}})
		}
		if verdict != f.Default {
			sp.Calls = append(sp.Calls, SystemdCall{Name: name, Nr: nr, Action: verdict, Rule: rule})
			model.Rules = append(model.Rules, policy.Rule{Name: rule, Syscall: name, Nr: nr, When: policy.Const(true), Action: verdict})
		}
	}
	// Warnings in the order of the source, not of syscall numbers.
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		return a.Filename < b.Filename || a.Filename == b.Filename && a.Start.Byte < b.Start.Byte
	})
	if nr, ok := a.Syscall("execve"); ok {
		v := model.Default
		for _, c := range sp.Calls {
			if c.Nr == uint32(nr) {
				v = c.Action
			}
		}
		if v.Kind != policy.Allow && v.Kind != policy.Log {
			rng := svc.DeclRange
			for _, r := range f.Rules {
				if r.Nr == uint32(nr) {
					rng = ruleRange(r.Name)
					break
				}
			}
			errorf(rng, "execve must be allowed with enforce = \"systemd\"",
				"systemd installs SystemCallFilter= and then execs the service, so the filter must allow execve whatever its arguments; here execve gets %s on %s. Allow execve in a rule without a condition, or use enforce = \"exec\", whose loader lets only its own execve through.", v, a.Name)
		}
	}
	return sp, &model, diags
}

func ptr(r hcl.Range) *hcl.Range { return &r }

// String says what the narrowing does, for people (NarrowedWords).
func (n Narrowed) String() string {
	return NarrowedWords(n.Rule, n.Syscall, n.Allows, n.Verdict.String())
}

// NarrowedWords says what the narrowing of rule's condition on syscall
// does, for people: the one wording of a narrowing, for the diagnostic and
// for the plan's view, which has the verdict as text.
func NarrowedWords(rule, syscall string, allows bool, verdict string) string {
	what := fmt.Sprintf("%s gets %s whatever its arguments (a deny wins over a condition systemd cannot check)", syscall, verdict)
	if allows {
		return fmt.Sprintf("rule %q never applies: %s", rule, what)
	}
	return fmt.Sprintf("rule %q's condition is dropped: %s", rule, what)
}
