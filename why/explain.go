package why

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// Call is a syscall a filter decided, as the kernel reported it.
type Call struct {
	// AuditArch is seccomp_data.arch and Nr seccomp_data.nr.
	AuditArch uint32
	Nr        int64
	// Ret is the filter's return value the kernel acted on (the audit
	// record's code=, or SIGSYS's si_errno with SECCOMP_RET_KILL_*).
	Ret uint32
	// Args are the arguments when a core dump gave them, else nil.
	Args *[6]uint64
}

// Syscall names a call's syscall on its architecture.
type Syscall struct {
	// Arch is the architecture's name ("" when fencer does not know
	// AuditArch) and Name the syscall's ("" when the table has no such
	// number).
	Arch string
	Name string
	// X32 is set for an x32-ABI call on x86_64 (number with bit 30 set):
	// Name is then the name of the number without that bit in x86_64's
	// table.
	X32 bool
}

// describe reads like "write (1) on x86_64".
func (s Syscall) describe(c Call) string {
	archName := s.Arch
	if archName == "" {
		archName = fmt.Sprintf("an architecture fencer does not know (AUDIT_ARCH %#x)", c.AuditArch)
	}
	switch {
	case s.X32 && s.Name != "":
		return fmt.Sprintf("x32 syscall %#x (%s's number %d with the x32 bit) on x86_64", c.Nr, s.Name, c.Nr-policy.X32Bit)
	case s.X32:
		return fmt.Sprintf("x32 syscall %#x on x86_64", c.Nr)
	case s.Name != "":
		return fmt.Sprintf("%s (%d) on %s", s.Name, c.Nr, archName)
	}
	return fmt.Sprintf("syscall %d on %s", c.Nr, archName)
}

// NameSyscall finds the architecture of an AUDIT_ARCH value and the name
// of a syscall number there.
func NameSyscall(auditArch uint32, nr int64) Syscall {
	var a *arch.Arch
	for _, x := range arch.All() {
		if x.Audit == auditArch {
			a = x
		}
	}
	if a == nil {
		return Syscall{}
	}
	s := Syscall{Arch: a.Name}
	if a.X32 && nr >= policy.X32Bit && nr < 2*policy.X32Bit {
		s.X32 = true
		nr -= policy.X32Bit
	}
	if name, ok := a.SyscallName(int(nr)); ok && nr >= 0 {
		s.Name = name
	}
	return s
}

// Action is how the kernel acted on a filter's return value.
type Action struct {
	// Name is the language's spelling (kill_process, errno(13), ...), or
	// user_notif / trace, which fencer never compiles.
	Name string
	// Policy is the action in the policy's terms, when it is one.
	Policy *policy.Action
}

// DecodeRet reads a filter's return value as the kernel does.
func DecodeRet(ret uint32) Action {
	switch ret &^ policy.RetData {
	case 0x7fc00000:
		return Action{Name: "user_notif"}
	case 0x7ff00000:
		return Action{Name: fmt.Sprintf("trace(%d)", ret&policy.RetData)}
	}
	a := policy.ActionFromRet(ret)
	return Action{Name: a.String(), Policy: &a}
}

// Decided says what decided a call.
type Decided string

// What can decide a call.
const (
	// ByRule: one rule, named in Explanation.Rule.
	ByRule Decided = "rule"
	// ByDefault: the default action, no rule held.
	ByDefault Decided = "default"
	// ByRuleOrDefault: without the arguments, either one of the
	// candidate rules or the default (Explanation.Candidates).
	ByRuleOrDefault Decided = "rule_or_default"
	// ByForeignArch: the filter kills every call of another architecture.
	ByForeignArch Decided = "foreign_arch"
	// ByX32: the x86_64 filter kills every x32 call.
	ByX32 Decided = "x32"
	// NotPlanned: the planned filter cannot have given this verdict; the
	// process ran another filter (or systemd's).
	NotPlanned Decided = "not_the_planned_filter"
	// BySystemd: systemd's SystemCallFilter= kills the call, which does
	// not list the syscall, although fencer's filter would allow it.
	BySystemd Decided = "systemd_filter"
)

// Where is a place in the configuration.
type Where struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (w Where) String() string {
	if w.File == "" {
		return "?"
	}
	return fmt.Sprintf("%s:%d", w.File, w.Line)
}

func where(r hcl.Range) Where {
	return Where{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
}

// RuleView is one rule of the policy for the call's syscall.
type RuleView struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	// When is the condition as written ("" for none) and Resolved the
	// condition in numbers on the call's architecture.
	When     string `json:"when,omitempty"`
	Resolved string `json:"when_resolved,omitempty"`
	Where    Where  `json:"where"`
	// Held is whether the condition held for the call's arguments,
	// nil when they are not known.
	Held *bool `json:"held"`

	rule policy.Rule
	// idx is the rule's index in the filter's Rules.
	idx int
}

// describe reads like `rule "log_write" (metrics.fencer.hcl:55)`.
func (r *RuleView) describe() string {
	return fmt.Sprintf("rule %q (%s)", r.Name, r.Where)
}

// condition reads like "arg0 == 2 || arg0 == fd.logfile (on x86_64: arg0 == 2 || arg0 == 1)".
func (r *RuleView) condition(archName string) string {
	if r.When == "" || r.When == r.Resolved {
		return r.Resolved
	}
	return fmt.Sprintf("%s (on %s: %s)", r.When, archName, r.Resolved)
}

// Explanation is what the planned filter says of a call.
type Explanation struct {
	Syscall Syscall
	// Kernel is the action the kernel took.
	Kernel Action
	// Decided says what decided; Rule is the deciding rule for ByRule,
	// Candidates the possible rules for ByRuleOrDefault.
	Decided    Decided
	Rule       *RuleView
	Candidates []*RuleView
	// Default is the policy's default action and where it is written.
	Default      string
	DefaultWhere Where
	// Rules are the policy's rules for the syscall on the architecture.
	Rules []*RuleView
	// Lines say it in words, the first what decided.
	Lines []string
}

// Policy is a service's planned filter on one architecture, with the
// configuration it was compiled from for file:line and the text of
// conditions.
type Policy struct {
	Compiled *resolve.Compiled
	// Files holds the configuration's files by name, for the text of each
	// condition (hclspec.Config.Files).
	Files map[string]*hcl.File
	// SystemdNames is the planned SystemCallFilter= allow-list, nil when
	// systemd filters no names for the service.
	SystemdNames []string
}

// text returns the source text of r.
func (p *Policy) text(r hcl.Range) string {
	f := p.Files[r.Filename]
	if f == nil || r.End.Byte > len(f.Bytes) || r.Start.Byte >= r.End.Byte {
		return ""
	}
	return strings.Join(strings.Fields(string(f.Bytes[r.Start.Byte:r.End.Byte])), " ")
}

// Explain says which rule or default of the planned filter decided the
// call, and how sure that is: with the arguments, the filter's meaning
// (policy.Filter.Explain) on them; without, which rules and defaults
// could have given the action the kernel took, and which conditions must
// have failed for it.
func (p *Policy) Explain(call Call) *Explanation {
	f := p.Compiled.Filter
	svc := p.Compiled.Service
	sys := NameSyscall(call.AuditArch, call.Nr)
	e := &Explanation{Syscall: sys, Kernel: DecodeRet(call.Ret), Default: f.Default.String()}
	e.DefaultWhere = where(svc.DefaultAction.Range)
	if svc.DefaultAction.Range.Filename == "" {
		e.DefaultWhere = where(svc.DeclRange)
	}
	x := &explainer{p: p, call: call, e: e, f: f, name: sys.Name, took: e.Kernel.Name, rules: map[string]*hclspec.Rule{}}
	if x.name == "" {
		x.name = fmt.Sprintf("syscall %d", call.Nr)
	}
	if x.archChecks() {
		return e
	}
	for _, r := range svc.Rules {
		x.rules[r.Name] = r
	}
	x.ruleViews()
	x.defaultText = fmt.Sprintf("the default action %s (%s)", e.Default, e.DefaultWhere)
	x.narrowings()
	if call.Args != nil {
		x.withArgs()
	} else {
		x.withoutArgs()
	}
	if len(x.narrowed) > 0 {
		e.Lines = append(e.Lines, "With enforce = \"systemd\" systemd's SystemCallFilter= names whole syscalls and cannot check arguments:")
		e.Lines = append(e.Lines, x.narrowed...)
	}
	return e
}

// explainer explains one call (Policy.Explain): each method adds what it
// finds to the explanation.
type explainer struct {
	p    *Policy
	call Call
	e    *Explanation
	f    *policy.Filter
	// name is the syscall's name ("syscall N" when it has none), took the
	// action the kernel took.
	name, took string
	rules      map[string]*hclspec.Rule
	// defaultText says the default action and where it is written.
	defaultText string
	// narrowed say the conditions of the syscall's rules that enforce =
	// "systemd" does not enforce, until a line has said them.
	narrowed []string
}

// kernelIs reports whether the kernel took action a.
func (x *explainer) kernelIs(a policy.Action) bool {
	return x.e.Kernel.Policy != nil && *x.e.Kernel.Policy == a
}

// archChecks explains a call decided by the checks every filter of
// fencer's makes before any rule: the architecture, and x32's numbers.
// It reports whether they decided.
func (x *explainer) archChecks() bool {
	e, f, call := x.e, x.f, x.call
	switch {
	case call.AuditArch != f.AuditArch:
		e.Decided = ByForeignArch
		other := e.Syscall.Arch
		if other == "" {
			other = fmt.Sprintf("AUDIT_ARCH %#x", call.AuditArch)
		}
		e.Lines = append(e.Lines, fmt.Sprintf("decided by the architecture check: the filter for %s kills every call of another architecture (here %s) before any rule, as systemd's SystemCallArchitectures=native does.", f.Arch, other))
	case f.X32 && call.Nr >= policy.X32Bit:
		e.Decided = ByX32
		e.Lines = append(e.Lines, "decided by the x32 check: the filter for x86_64 kills every x32-ABI call (number with bit 30 set) before any rule.")
	default:
		return false
	}
	if !x.kernelIs(policy.ActKillProcess) {
		e.Decided = NotPlanned
		e.Lines = append(e.Lines, fmt.Sprintf("But the kernel took %s, not kill_process: the process did not run the planned filter.", x.took))
	}
	return true
}

// ruleViews lists the filter's rules for the syscall, with where each is
// written and, with the arguments, whether its condition held.
func (x *explainer) ruleViews() {
	for i, r := range x.f.Rules {
		if int64(r.Nr) != x.call.Nr {
			continue
		}
		v := &RuleView{Name: r.Name, Action: r.Action.String(), Resolved: render(r.When), rule: r, idx: i}
		if hr := x.rules[r.Name]; hr != nil {
			v.Where = where(hr.DeclRange)
			if hr.When != nil && r.When != policy.Const(true) {
				v.When = x.p.text(hr.When.Range())
			}
		}
		if r.When == policy.Const(true) {
			v.Resolved = ""
		}
		if x.call.Args != nil {
			held := policy.Eval(r.When, x.call.Args)
			v.Held = &held
		}
		x.e.Rules = append(x.e.Rules, v)
	}
}

// narrowings finds, with enforce = "systemd", where the filter is
// systemd's model of the policy, the rules of the syscall whose condition
// it cannot check (gone or unconditional), which the reader must be told.
func (x *explainer) narrowings() {
	sp := x.p.Compiled.Systemd
	if sp == nil {
		return
	}
	for _, n := range sp.Narrowed {
		if m, ok := x.p.Compiled.Arch.Syscall(n.Syscall); !ok || int64(m) != x.call.Nr {
			continue
		}
		text := n.String()
		if hr := x.rules[n.Rule]; hr != nil {
			text = fmt.Sprintf("%s (%s)", text, where(hr.DeclRange))
		}
		x.narrowed = append(x.narrowed, text+".")
	}
}

// noRule explains the default deciding a syscall no rule names.
func (x *explainer) noRule() {
	e := x.e
	if len(x.narrowed) > 0 {
		e.Lines = append(e.Lines, fmt.Sprintf("decided by %s: with enforce = \"systemd\" systemd's SystemCallFilter= names whole syscalls and cannot check arguments, so:", x.defaultText))
		e.Lines = append(e.Lines, x.narrowed...)
		x.narrowed = nil
		return
	}
	e.Lines = append(e.Lines, fmt.Sprintf("decided by %s: no rule names %s on %s, so the default decides it whatever its arguments.", x.defaultText, x.name, x.f.Arch))
}

// withArgs explains a call whose arguments are known: what the filter
// gives them, and what each other condition was.
func (x *explainer) withArgs() {
	e, f, call, name := x.e, x.f, x.call, x.name
	got, which := f.Explain(policy.Data{Nr: int32(call.Nr), Arch: call.AuditArch, Args: *call.Args})
	argText := func(v *RuleView) string { return argValues(v.rule.When, call.Args) }
	if which >= 0 {
		for _, v := range e.Rules {
			if v.idx == which {
				e.Rule = v
			}
		}
		e.Decided = ByRule
		if e.Rule.Resolved == "" {
			e.Lines = append(e.Lines, fmt.Sprintf("decided by %s, which gives %s %s whatever its arguments.", e.Rule.describe(), name, got))
		} else {
			e.Lines = append(e.Lines, fmt.Sprintf("decided by %s, which gives %s %s when %s: true for %s.", e.Rule.describe(), name, got, e.Rule.condition(f.Arch), argText(e.Rule)))
		}
	} else {
		e.Decided = ByDefault
		if len(e.Rules) == 0 {
			x.noRule()
		} else {
			e.Lines = append(e.Lines, fmt.Sprintf("decided by %s: no rule for %s held with these arguments.", x.defaultText, name))
		}
	}
	for _, v := range e.Rules {
		if v == e.Rule || v.Resolved == "" {
			continue
		}
		state := "false"
		if *v.Held {
			state = "true"
		}
		e.Lines = append(e.Lines, fmt.Sprintf("%s gives %s when %s: %s for %s.", v.describe(), v.Action, v.condition(f.Arch), state, argText(v)))
	}
	if !x.kernelIs(got) {
		e.mismatch(x.p, name, got.String(), x.took)
	}
}

// withoutArgs explains a call whose arguments are not known: the
// candidates are the rules whose action is the one the kernel took, and
// the default when it is that action too (no rule held). Rules whose
// action ranks above it cannot have held. An unconditional rule always
// holds: then the default never applies, and the verdict ranks at least
// as high as its action.
func (x *explainer) withoutArgs() {
	e := x.e
	always := -1
	for _, v := range e.Rules {
		if v.Resolved == "" {
			always = max(always, v.rule.Action.Precedence())
		}
	}
	defaultFits := x.kernelIs(x.f.Default) && always < 0
	var cands []*RuleView
	for _, v := range e.Rules {
		if x.kernelIs(v.rule.Action) {
			cands = append(cands, v)
		}
	}
	if e.Kernel.Policy != nil && always > e.Kernel.Policy.Precedence() {
		cands, defaultFits = nil, false
	}
	if !x.candidates(cands, defaultFits) {
		e.mismatch(x.p, x.name, "", x.took)
		return
	}
	// Whatever the candidates, a rule whose action ranks above the one
	// taken did not hold (unless it is unconditional: then the filter is
	// not the planned one, which mismatch reports).
	if e.Kernel.Policy != nil && e.Decided != ByDefault {
		for _, v := range e.Rules {
			if v.rule.Action.Precedence() > e.Kernel.Policy.Precedence() && v.Resolved != "" {
				e.Lines = append(e.Lines, fmt.Sprintf("%s gives %s when %s, which did not hold: %s.", v.describe(), v.Action, v.condition(x.f.Arch), failed(v.rule.When)))
			}
		}
	}
}

// candidates explains the rules (cands), and the default when
// defaultFits, that could have given the action the kernel took; false
// when none could.
func (x *explainer) candidates(cands []*RuleView, defaultFits bool) bool {
	e, arch, name := x.e, x.f.Arch, x.name
	switch {
	case len(cands) == 0 && defaultFits:
		e.Decided = ByDefault
		if len(e.Rules) == 0 {
			x.noRule()
			break
		}
		e.Lines = append(e.Lines, fmt.Sprintf("decided by %s, because no rule for %s held:", x.defaultText, name))
		for _, v := range e.Rules {
			e.Lines = append(e.Lines, fmt.Sprintf("%s %s only when %s, so %s.", v.describe(), verb(v.rule.Action, name), v.condition(arch), failed(v.rule.When)))
		}
	case len(cands) == 1 && !defaultFits:
		e.Decided, e.Rule = ByRule, cands[0]
		if e.Rule.Resolved == "" {
			e.Lines = append(e.Lines, fmt.Sprintf("decided by %s, which gives %s %s whatever its arguments.", e.Rule.describe(), name, e.Rule.Action))
		} else {
			e.Lines = append(e.Lines, fmt.Sprintf("decided by %s, which gives %s %s when %s: it held.", e.Rule.describe(), name, e.Rule.Action, e.Rule.condition(arch)))
		}
	case len(cands) > 0:
		e.Decided, e.Candidates = ByRuleOrDefault, cands
		var opts []string
		for _, v := range cands {
			if v.Resolved == "" {
				opts = append(opts, v.describe())
			} else {
				opts = append(opts, fmt.Sprintf("%s (when %s)", v.describe(), v.condition(arch)))
			}
		}
		if defaultFits {
			opts = append(opts, x.defaultText+" (when no rule held)")
		}
		e.Lines = append(e.Lines, fmt.Sprintf("decided by one of: %s; which one depends on the arguments.", strings.Join(opts, "; ")))
	default:
		return false
	}
	return true
}

// mismatch explains a verdict the planned filter cannot give: systemd's
// own name filter, or another filter than the planned one. planned is
// what the planned filter gives ("" when it depends on the arguments).
func (e *Explanation) mismatch(p *Policy, name, planned, took string) {
	e.Decided = NotPlanned
	a := p.Compiled.Arch
	if p.SystemdNames != nil && e.Kernel.Policy != nil && e.Kernel.Policy.Kind == policy.KillProcess && e.Syscall.Name != "" {
		listed := false
		nr, _ := a.Syscall(e.Syscall.Name)
		for _, n := range p.SystemdNames {
			if m, ok := a.Syscall(n); ok && m == nr {
				listed = true
			}
		}
		if !listed {
			e.Decided = BySystemd
			e.Lines = append(e.Lines, fmt.Sprintf("decided by systemd's SystemCallFilter=, which kills every syscall it does not list: the planned list does not name %s, although fencer's filter allows it with some arguments.", name))
			return
		}
	}
	what := "cannot give it"
	if planned != "" {
		what = "gives it " + planned
	}
	e.Lines = append(e.Lines, fmt.Sprintf("not the planned filter: the kernel took %s, but the planned filter %s. The process ran another filter: the configuration, its variables or the host changed since it was applied, the unit was not restarted after apply, or the service was not started through fencer's loader (fencer verify tells which).", took, what))
	if len(e.Rules) > 0 {
		var names []string
		for _, v := range e.Rules {
			names = append(names, fmt.Sprintf("%s gives %s%s", v.describe(), v.Action, whenSuffix(v, a.Name)))
		}
		e.Lines = append(e.Lines, fmt.Sprintf("In the planned filter, %s; otherwise the default action %s (%s).", strings.Join(names, "; "), e.Default, e.DefaultWhere))
	} else {
		e.Lines = append(e.Lines, fmt.Sprintf("In the planned filter no rule names %s: the default action %s (%s) decides it.", name, e.Default, e.DefaultWhere))
	}
}

func whenSuffix(v *RuleView, archName string) string {
	if v.Resolved == "" {
		return ""
	}
	return " when " + v.condition(archName)
}

// verb says what a rule does: "allows write", "gives write errno(13)".
func verb(a policy.Action, name string) string {
	if a.Kind == policy.Allow {
		return "allows " + name
	}
	return fmt.Sprintf("gives %s %s", name, a)
}

// render writes a resolved condition the way the language does, with
// numbers: arg0 == 2 || arg0 == 1.
func render(e policy.Expr) string { return renderPrec(e, 0) }

// renderPrec renders e where an operand of precedence prec is expected
// (0 anywhere, 2 an operand of ||, 3 of &&, 4 of !), with parentheses
// where needed.
func renderPrec(e policy.Expr, prec int) string {
	paren := func(s string, mine int) string {
		if prec > mine {
			return "(" + s + ")"
		}
		return s
	}
	join := func(xs []policy.Expr, op string, mine int) string {
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = renderPrec(x, mine+1)
		}
		return paren(strings.Join(parts, " "+op+" "), mine)
	}
	switch x := e.(type) {
	case policy.Const:
		return x.String()
	case policy.Or:
		if len(x) == 0 {
			return "false"
		}
		if len(x) == 1 {
			return renderPrec(x[0], prec)
		}
		return join(x, "||", 1)
	case policy.And:
		if len(x) == 0 {
			return "true"
		}
		if len(x) == 1 {
			return renderPrec(x[0], prec)
		}
		return join(x, "&&", 2)
	case policy.Not:
		return "!" + renderPrec(x.X, 4)
	case policy.Cmp:
		return paren(fmt.Sprintf("%s %s %s", argText(x), x.Op, number(x.Value)), 3)
	}
	return e.String()
}

// argText is an argument with its mask: arg0, or (arg1 & 0x3) when the
// mask is not just the argument's width.
func argText(c policy.Cmp) string {
	switch c.Mask {
	case 0xffff, 0xffffffff, ^uint64(0):
		return fmt.Sprintf("arg%d", c.Arg)
	}
	return fmt.Sprintf("(arg%d & %#x)", c.Arg, c.Mask)
}

// number writes small values in decimal, others in hex.
func number(v uint64) string {
	if v < 0x10000 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x", v)
}

// negate returns the condition that holds exactly when e does not, with
// the negation pushed down to the comparisons.
func negate(e policy.Expr) policy.Expr {
	switch x := e.(type) {
	case policy.Const:
		return !x
	case policy.And:
		out := make(policy.Or, len(x))
		for i, y := range x {
			out[i] = negate(y)
		}
		return out
	case policy.Or:
		out := make(policy.And, len(x))
		for i, y := range x {
			out[i] = negate(y)
		}
		return out
	case policy.Not:
		return x.X
	case policy.Cmp:
		x.Op = x.Op.Negate()
		return x
	}
	return policy.Not{X: e}
}

// failed says what must have been true of the arguments for the
// condition e not to hold: "arg0 was neither 2 nor 1", "arg2 <= 0x10000".
func failed(e policy.Expr) string {
	n := negate(e)
	if c, ok := n.(policy.Const); ok {
		if c {
			return "the condition can never hold"
		}
		return "the condition always holds: this filter cannot have decided so"
	}
	// Comparisons of one argument with a list of values: "was neither
	// 2 nor 1" (all !=), "was 2 or 1" (all ==).
	var list []policy.Expr
	switch x := n.(type) {
	case policy.And:
		list = x
	case policy.Or:
		list = x
	case policy.Cmp:
		list = []policy.Expr{x}
	}
	if len(list) > 0 {
		first, ok := list[0].(policy.Cmp)
		_, isOr := n.(policy.Or)
		want := policy.NE
		if isOr || (ok && len(list) == 1 && first.Op == policy.EQ) {
			want = policy.EQ
		}
		var vals []string
		for _, y := range list {
			c, isCmp := y.(policy.Cmp)
			if !ok || !isCmp || c.Op != want || c.Arg != first.Arg || c.Mask != first.Mask {
				ok = false
				break
			}
			vals = append(vals, number(c.Value))
		}
		if ok {
			arg := argText(first)
			switch {
			case want == policy.EQ && len(vals) == 1:
				return fmt.Sprintf("%s was %s", arg, vals[0])
			case want == policy.EQ && len(vals) == 2:
				return fmt.Sprintf("%s was %s or %s", arg, vals[0], vals[1])
			case want == policy.EQ:
				return fmt.Sprintf("%s was one of %s", arg, strings.Join(vals, ", "))
			case len(vals) == 1:
				return fmt.Sprintf("%s was not %s", arg, vals[0])
			case len(vals) == 2:
				return fmt.Sprintf("%s was neither %s nor %s", arg, vals[0], vals[1])
			}
			return fmt.Sprintf("%s was none of %s", arg, strings.Join(vals, ", "))
		}
	}
	return render(n)
}

// argValues lists the arguments a condition reads with their values:
// "arg0 = 5, arg3 = 0x80800". An argument compared on fewer bits than its
// register has (a 32-bit fd, flags) shows the bits compared, and the whole
// register when its high bits are not zero.
func argValues(e policy.Expr, args *[6]uint64) string {
	width := map[int]uint64{}
	var used []int
	for _, x := range policy.Comparisons(e) {
		if _, seen := width[x.Arg]; !seen {
			used = append(used, x.Arg)
			width[x.Arg] = ^uint64(0)
		}
		switch x.Mask {
		case 0xffff, 0xffffffff:
			width[x.Arg] = min(width[x.Arg], x.Mask)
		}
	}
	sort.Ints(used)
	parts := make([]string, len(used))
	for i, a := range used {
		v, w := args[a], width[a]
		parts[i] = fmt.Sprintf("arg%d = %s", a, number(v&w))
		if x := v & w; x >= 0x10000 && x < 1<<32 {
			parts[i] += fmt.Sprintf(" (%d)", x)
		}
		if v&^w != 0 {
			parts[i] += fmt.Sprintf(" (the register holds %#x; the filter compares its low %d bits)", v, bitsOf(w))
		}
	}
	if len(parts) == 0 {
		return "any arguments"
	}
	return strings.Join(parts, ", ")
}

func bitsOf(mask uint64) int {
	n := 0
	for ; mask != 0; mask >>= 1 {
		n++
	}
	return n
}
