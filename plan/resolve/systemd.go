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
	m := &systemdModeler{svc: svc, f: f, a: a, rules: map[string]*hclspec.Rule{}, sp: &SystemdPolicy{}, model: *f}
	for _, r := range svc.Rules {
		m.rules[r.Name] = r
	}
	m.model.Rules = nil
	m.checkDefault()
	for _, nr := range f.Syscalls() {
		m.syscall(nr)
	}
	// Warnings in the order of the source, not of syscall numbers.
	sort.SliceStable(m.diags, func(i, j int) bool {
		a, b := m.diags[i].Subject, m.diags[j].Subject
		return a.Filename < b.Filename || a.Filename == b.Filename && a.Start.Byte < b.Start.Byte
	})
	m.checkExecve()
	return m.sp, &m.model, m.diags
}

// systemdModeler computes a SystemdPolicy (systemdModel).
type systemdModeler struct {
	svc   *hclspec.Service
	f     *policy.Filter
	a     *arch.Arch
	rules map[string]*hclspec.Rule
	sp    *SystemdPolicy
	// model is f with systemd's verdicts for rules.
	model policy.Filter
	diags hcl.Diagnostics
}

func (m *systemdModeler) errorf(rng hcl.Range, summary, format string, args ...any) {
	m.diags = append(m.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: &rng, Extra: archOf{m.a.Name}})
}

// ruleRange is where rule name is declared, actionRange its action and
// whenRange its condition; the service's block where there is none.
func (m *systemdModeler) ruleRange(name string) hcl.Range {
	if r := m.rules[name]; r != nil {
		return r.DeclRange
	}
	return m.svc.DeclRange
}

func (m *systemdModeler) actionRange(name string) hcl.Range {
	if r := m.rules[name]; r != nil && r.Action.Range.Filename != "" {
		return r.Action.Range
	}
	return m.ruleRange(name)
}

func (m *systemdModeler) whenRange(name string) hcl.Range {
	if r := m.rules[name]; r != nil && r.When != nil {
		return r.When.Range()
	}
	return m.ruleRange(name)
}

// checkDefault refuses a default action systemd cannot give.
func (m *systemdModeler) checkDefault() {
	f, svc := m.f, m.svc
	rng := svc.DefaultAction.Range
	if rng.Filename == "" {
		rng = svc.DeclRange
	}
	switch {
	case f.Default.Kind == policy.Errno && f.Default.Data == 0:
		// A rule's errno(0) is "~NAME:0", which systemd takes; the
		// default is SystemCallErrorNumber=, which refuses 0 ("Invalid
		// error number, ignoring: 0"), so systemd would kill instead and
		// apply's systemd-analyze verify fails on the warning.
		m.errorf(rng, "Default action systemd cannot enforce",
			"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and its SystemCallErrorNumber= takes an errno from 1 up: it refuses errno(0) and would kill the process instead. Use another errno, or enforce = \"exec\".")
	case f.Default.Kind == policy.KillProcess, f.Default.Kind == policy.Errno:
	default:
		m.errorf(rng, "Default action systemd cannot enforce",
			"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and it can kill the process or fail a call with an errno, not %s. Use default_action = kill_process or errno(...), or enforce = \"exec\".", f.Default)
	}
}

// syscall gives syscall nr its verdict: the most restrictive the policy
// can give it (the first declared among equals, the default before any
// rule), and narrows every condition of a rule that names it when the
// verdict depends on it.
func (m *systemdModeler) syscall(nr uint32) {
	f := m.f
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
	name, ok := m.a.SyscallName(int(nr))
	if !ok && len(named) > 0 {
		name = named[0].Syscall
	}
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
			m.errorf(m.actionRange(r.Name), "Action systemd cannot enforce",
				"With enforce = \"systemd\" only systemd's SystemCallFilter= enforces the policy, and it cannot give %s to %s: it allows, logs, fails with an errno or kills the process. Use another action, or enforce = \"exec\".", r.Action, r.Syscall)
		}
		if depends && r.When != policy.Const(true) {
			m.narrow(r, verdict)
		}
	}
	if verdict != f.Default {
		m.sp.Calls = append(m.sp.Calls, SystemdCall{Name: name, Nr: nr, Action: verdict, Rule: rule})
		m.model.Rules = append(m.model.Rules, policy.Rule{Name: rule, Syscall: name, Nr: nr, When: policy.Const(true), Action: verdict})
	}
}

// narrow records that systemd gives r's syscall verdict whatever r's
// condition, with a warning on the condition.
func (m *systemdModeler) narrow(r policy.Rule, verdict policy.Action) {
	n := Narrowed{Rule: r.Name, Syscall: r.Syscall, Allows: r.Action.Precedence() < verdict.Precedence(), Verdict: verdict}
	m.sp.Narrowed = append(m.sp.Narrowed, n)
	m.diags = append(m.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning,
		Summary: "Condition not enforced with enforce = \"systemd\"",
		Detail: fmt.Sprintf("systemd's SystemCallFilter= names whole syscalls and cannot look at arguments, so on %s %s. Use enforce = \"exec\" to enforce the condition, or drop it to allow %s whatever its arguments.",
			m.a.Name, n.String(), r.Syscall),
		Subject: ptr(m.whenRange(r.Name)), Extra: archOf{m.a.Name}})
}

// checkExecve refuses a policy under which systemd could not exec the
// service: it installs SystemCallFilter= first.
func (m *systemdModeler) checkExecve() {
	nr, ok := m.a.Syscall("execve")
	if !ok {
		return
	}
	v := m.model.Default
	for _, c := range m.sp.Calls {
		if c.Nr == uint32(nr) {
			v = c.Action
		}
	}
	if v.Kind == policy.Allow || v.Kind == policy.Log {
		return
	}
	rng := m.svc.DeclRange
	for _, r := range m.f.Rules {
		if r.Nr == uint32(nr) {
			rng = m.ruleRange(r.Name)
			break
		}
	}
	m.errorf(rng, "execve must be allowed with enforce = \"systemd\"",
		"systemd installs SystemCallFilter= and then execs the service, so the filter must allow execve whatever its arguments; here execve gets %s on %s. Allow execve in a rule without a condition, or use enforce = \"exec\", whose loader lets only its own execve through.", v, m.a.Name)
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
