// Package lint finds what a policy means that its author most likely did
// not intend — a rule that changes nothing, a condition that is always or
// never true, a restriction a sibling syscall or an fd renumbering undoes
// — and reports it as warnings, which only fencer validate shows. It
// works on the policy resolve resolves for each architecture.
package lint

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/cond"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// Policies reports, as warnings, what each service's policy means that its
// author most likely did not intend (docs/language.md, "Lints"):
//
//   - a rule that changes nothing because other rules decide every call
//     its condition holds for (an allow rule inside a broader allow, any
//     rule under a more restrictive one);
//   - a condition, or part of one, that is always or never true;
//   - a restriction that a sibling syscall undoes: write limited to some
//     fds while writev is allowed on any, clone's flags checked while
//     clone3 is allowed, fork allowed while clone refuses what fork does;
//   - an fd condition while dup2, dup3, fcntl(F_DUPFD) or dup can put
//     another file on an fd number the condition allows.
//
// Every lint works on the resolved policy of each architecture
// (resolve.Policy) and decides exactly, with the BDDs of internal/cond; a question too large
// to decide within cond.DefaultLimit nodes gives no warning. A finding on
// several architectures is reported once, naming them unless it holds on
// all that were checked. Services with errors are skipped: resolve.CompileAll
// reports those.
func Policies(cfg *hclspec.Config, only []string) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, svc := range cfg.Services {
		l := &linter{svc: svc, rules: map[string]*hclspec.Rule{}, findings: map[string]*finding{}}
		for _, r := range svc.Rules {
			l.rules[r.Name] = r
		}
		for _, a := range resolve.Arches(cfg, svc, only) {
			f, diags := resolve.Policy(svc, a)
			if diags.HasErrors() {
				continue
			}
			l.arches = append(l.arches, a.Name)
			newArchLint(l, a, f).run()
		}
		out = append(out, l.diags()...)
	}
	return out
}

// linter collects one service's findings across architectures.
type linter struct {
	svc      *hclspec.Service
	rules    map[string]*hclspec.Rule
	arches   []string
	findings map[string]*finding
	order    []string
}

// finding is one warning, seen on some architectures for some syscalls.
type finding struct {
	subject  hcl.Range
	context  *hcl.Range
	syscalls []string
	arches   []string
	// render writes the summary and detail; syscalls is the list of n
	// syscalls in prose, on is "" or " on ARCHES".
	render func(syscalls string, n int, on string) (string, string)
}

// add records a finding under key: the same key on another architecture
// or syscall adds to it.
func (l *linter) add(key string, subject hcl.Range, context *hcl.Range, syscall, archName string, render func(syscalls string, n int, on string) (string, string)) {
	f, ok := l.findings[key]
	if !ok {
		f = &finding{subject: subject, context: context, render: render}
		l.findings[key] = f
		l.order = append(l.order, key)
	}
	if syscall != "" && !slices.Contains(f.syscalls, syscall) {
		f.syscalls = append(f.syscalls, syscall)
	}
	if !slices.Contains(f.arches, archName) {
		f.arches = append(f.arches, archName)
	}
}

func (l *linter) diags() hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, key := range l.order {
		f := l.findings[key]
		on := ""
		if len(f.arches) < len(l.arches) {
			on = " on " + prose(f.arches)
		}
		summary, detail := f.render(prose(f.syscalls), len(f.syscalls), on)
		subject := f.subject
		out = append(out, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  summary,
			Detail:   detail,
			Subject:  &subject,
			Context:  f.context,
		})
	}
	return out
}

// prose joins words as "a", "a and b", "a, b and c".
func prose(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// at is where a rule is, as file:line:col.
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// contextOf returns a range that shows the rule's header with subject, or
// nil when they are too far apart (a syscall named in a syscall_set).
func contextOf(subject, header hcl.Range) *hcl.Range {
	if subject.Filename != header.Filename || subject.Start.Byte < header.Start.Byte || subject.Start.Line > header.Start.Line+8 {
		return nil
	}
	h := header
	return &h
}

// archLint lints one service on one architecture.
type archLint struct {
	l *linter
	a *arch.Arch
	f *policy.Filter
	// byNr lists the indices of f.Rules for each syscall number, in order;
	// nrs the numbers in the order they first appear.
	byNr map[uint32][]int
	nrs  []uint32
	// tooBig marks the syscalls whose policy could not be decided within
	// the node limit.
	tooBig map[uint32]bool
}

func newArchLint(l *linter, a *arch.Arch, f *policy.Filter) *archLint {
	c := &archLint{l: l, a: a, f: f, byNr: map[uint32][]int{}, tooBig: map[uint32]bool{}}
	type ruleSyscall struct {
		rule string
		nr   uint32
	}
	seen := map[ruleSyscall]bool{}
	for i, r := range f.Rules {
		if _, ok := c.byNr[r.Nr]; !ok {
			c.nrs = append(c.nrs, r.Nr)
		}
		// A rule that names a syscall twice (directly and through a
		// syscall_set, or under an alias) is one rule for it.
		if k := (ruleSyscall{r.Name, r.Nr}); !seen[k] {
			seen[k] = true
			c.byNr[r.Nr] = append(c.byNr[r.Nr], i)
		}
	}
	return c
}

func (c *archLint) run() {
	for _, nr := range c.nrs {
		c.shadowed(nr)
	}
	c.constants()
	c.families()
	c.equivalents()
	c.renumbering()
	c.flagEquality()
}

// name is the syscall's canonical name on the architecture.
func (c *archLint) name(nr uint32) string {
	if n, ok := c.a.SyscallName(int(nr)); ok {
		return n
	}
	return fmt.Sprint(nr)
}

// nr is the number of a syscall the architecture has.
func (c *archLint) nr(name string) (uint32, bool) {
	n, ok := c.a.Syscall(name)
	return uint32(n), ok
}

// hrule is the configuration's rule of f.Rules[i].
func (c *archLint) hrule(i int) *hclspec.Rule { return c.l.rules[c.f.Rules[i].Name] }

// ref is where rule i names its syscall (the rule's header when not
// found).
func (c *archLint) ref(i int) hcl.Range {
	r := c.hrule(i)
	for _, s := range r.Syscalls {
		if n, ok := c.a.Syscall(s.Name); ok && uint32(n) == c.f.Rules[i].Nr {
			return s.Range
		}
	}
	return r.DeclRange
}

// ruleNames names rules for a message: `rule "a" (f:1:2)`, `rules "a"
// (f:1:2) and "b" (f:3:4)`.
func (c *archLint) ruleNames(idx []int) string {
	var parts []string
	seen := map[string]bool{}
	for _, i := range idx {
		r := c.hrule(i)
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		parts = append(parts, fmt.Sprintf("%q (%s)", r.Name, at(r.DeclRange)))
	}
	if len(parts) == 1 {
		return "rule " + parts[0]
	}
	return "rules " + prose(parts)
}

// bdd wraps a Manager and keeps its first error, so that a sequence of
// operations is checked once at its end: an error means "could not
// decide", and no warning.
type bdd struct {
	m   *cond.Manager
	err error
}

func newBDD() *bdd { return &bdd{m: cond.New(cond.DefaultLimit)} }

func (b *bdd) keep(r cond.Ref, err error) cond.Ref {
	if b.err == nil && err != nil {
		b.err = err
	}
	if b.err != nil {
		return cond.False
	}
	return r
}

func (b *bdd) expr(e policy.Expr) cond.Ref { return b.keep(b.m.Expr(e)) }
func (b *bdd) and(x, y cond.Ref) cond.Ref  { return b.keep(b.m.And(x, y)) }
func (b *bdd) or(x, y cond.Ref) cond.Ref   { return b.keep(b.m.Or(x, y)) }
func (b *bdd) not(x cond.Ref) cond.Ref     { return b.keep(b.m.Not(x)) }
func (b *bdd) exists(x cond.Ref, keep ...int) cond.Ref {
	return b.keep(b.m.Exists(x, keep...))
}
func (b *bdd) forall(x cond.Ref, keep ...int) cond.Ref {
	return b.keep(b.m.Forall(x, keep...))
}
func (b *bdd) move(x cond.Ref, from, to int) cond.Ref { return b.keep(b.m.Move(x, from, to)) }

// allows reports whether an action lets the call through.
func allows(a policy.Action) bool { return a.Kind <= policy.Log }

// allowed builds the condition under which the policy lets syscall nr
// through (allow or log decides), with each rule's condition passed
// through subst (nil: as it is).
func (c *archLint) allowed(b *bdd, nr uint32, subst func(policy.Expr) policy.Expr) cond.Ref {
	if c.tooBig[nr] {
		// Once too large, always: skip the work.
		b.keep(cond.False, cond.ErrTooBig)
		return cond.False
	}
	defer func() {
		if b.err != nil {
			c.tooBig[nr] = true
		}
	}()
	allow, deny := cond.False, cond.False
	for _, i := range c.byNr[nr] {
		r := c.f.Rules[i]
		e := r.When
		if subst != nil {
			e = subst(e)
		}
		x := b.expr(e)
		if allows(r.Action) {
			allow = b.or(allow, x)
		} else {
			deny = b.or(deny, x)
		}
	}
	if allows(c.f.Default) {
		// A log default lets through what no deny rule stops.
		return b.not(deny)
	}
	return b.and(allow, b.not(deny))
}

// hasAllowRule reports whether some rule can let syscall nr through.
func (c *archLint) hasAllowRule(nr uint32) bool {
	for _, i := range c.byNr[nr] {
		if allows(c.f.Rules[i].Action) {
			return true
		}
	}
	return false
}

// witness returns arguments of syscall nr for which x holds, and the
// index of the rule of the filter that decides the call with them (-1
// for the default); ok is false, with which -1, when x never holds.
func (c *archLint) witness(b *bdd, x cond.Ref, nr uint32) (args [6]uint64, which int, ok bool) {
	w, ok := b.m.Witness(x)
	if !ok {
		return args, -1, false
	}
	copy(args[:], w[:6])
	_, which = c.f.Explain(policy.Data{Nr: int32(nr), Arch: c.f.AuditArch, Args: args})
	return args, which, true
}

// explain names the rules behind the verdict on a call: the rule that
// decided it, or when the default did and want is "refused", the rules
// that allow the syscall under a condition (which the call does not meet).
func (c *archLint) explain(nr uint32, args [6]uint64) []int {
	_, which := c.f.Explain(policy.Data{Nr: int32(nr), Arch: c.f.AuditArch, Args: args})
	if which >= 0 {
		return []int{which}
	}
	var out []int
	for _, i := range c.byNr[nr] {
		if allows(c.f.Rules[i].Action) {
			out = append(out, i)
		}
	}
	return out
}

// inRegister reports whether argument k of the syscall is in a register
// where the filter sees it.
func (c *archLint) inRegister(syscall string, k int) bool {
	if first, split := c.a.SplitFrom(syscall); split {
		return k < first
	}
	n, ok := c.a.NumArgs(syscall)
	return ok && k < n
}

// argMask is the mask of the bits of argument k of the syscall the kernel
// reads.
func (c *archLint) argMask(syscall string, k int) uint64 {
	w, _ := c.a.ArgWidth(syscall, k)
	return arch.WidthMask(w)
}

// -- Rules that change nothing ---------------------------------------------

// decision is the verdict of a syscall's rules as regions of the argument
// space: per rule, where it decides; where the default does; per action,
// where it is the verdict.
type decision struct {
	per      []cond.Ref
	def      cond.Ref
	byAction map[policy.Action]cond.Ref
}

// decide computes the decision of rules (conditions conds, in declaration
// order) without those skip names, as Filter.Explain decides: the most
// restrictive action among the rules that hold, the first declared among
// equals, else the default.
func (c *archLint) decide(b *bdd, idx []int, conds []cond.Ref, skip map[int]bool) decision {
	order := make([]int, 0, len(idx))
	for p := range idx {
		if !skip[p] {
			order = append(order, p)
		}
	}
	sort.SliceStable(order, func(x, y int) bool {
		return c.f.Rules[idx[order[x]]].Action.Precedence() > c.f.Rules[idx[order[y]]].Action.Precedence()
	})
	d := decision{per: make([]cond.Ref, len(idx)), byAction: map[policy.Action]cond.Ref{}}
	covered := cond.False
	for _, p := range order {
		region := b.and(conds[p], b.not(covered))
		d.per[p] = region
		act := c.f.Rules[idx[p]].Action
		d.byAction[act] = b.or(d.byAction[act], region)
		covered = b.or(covered, conds[p])
	}
	d.def = b.not(covered)
	d.byAction[c.f.Default] = b.or(d.byAction[c.f.Default], d.def)
	return d
}

func sameDecision(x, y decision) bool {
	for a, r := range x.byAction {
		if y.byAction[a] != r {
			return false
		}
	}
	for a, r := range y.byAction {
		if x.byAction[a] != r {
			return false
		}
	}
	return true
}

// shadowed reports the rules with a condition on syscall nr that change
// nothing: removing the rule leaves every call's verdict as it is, because
// wherever its condition holds other rules decide the call the same way
// (a broader or unconditional rule with the same action, or a rule whose
// action wins). Rules are tried from the last declared to the first, and
// one found meaningless is left out of the later tries, so that the rules
// reported can all be removed together: of two identical rules the later
// is reported, of a narrow rule and a broad one the narrow one. A rule
// whose place the default would take is not reported (an explicit deny
// that repeats the default documents the policy), and a deny rule is
// never made meaningless by an allow rule.
func (c *archLint) shadowed(nr uint32) {
	idx := c.byNr[nr]
	if len(idx) < 2 {
		return
	}
	b := newBDD()
	conds := make([]cond.Ref, len(idx))
	for p, i := range idx {
		conds[p] = b.expr(c.f.Rules[i].When)
	}
	if b.err != nil {
		return
	}
	all := c.decide(b, idx, conds, nil)
	removed := map[int]bool{}
	type result struct {
		pos int
		by  []int
	}
	var found []result
	for p := len(idx) - 1; p >= 0; p-- {
		i := idx[p]
		if c.hrule(i).When == nil || conds[p] == cond.True || conds[p] == cond.False {
			continue
		}
		removed[p] = true
		without := c.decide(b, idx, conds, removed)
		if b.err != nil {
			return
		}
		if !sameDecision(all, without) || b.and(without.def, conds[p]) != cond.False {
			delete(removed, p)
			continue
		}
		var by []int
		for q := range idx {
			if !removed[q] && b.and(without.per[q], conds[p]) != cond.False {
				by = append(by, q)
			}
		}
		if b.err != nil {
			return
		}
		found = append(found, result{pos: p, by: by})
	}
	for k := len(found) - 1; k >= 0; k-- {
		c.reportShadowed(nr, idx, conds, found[k].pos, found[k].by)
	}
}

func (c *archLint) reportShadowed(nr uint32, idx []int, conds []cond.Ref, p int, by []int) {
	i := idx[p]
	rule := c.hrule(i)
	act := c.f.Rules[i].Action
	same := true
	var byIdx []int
	unconditional := len(by) == 1 && conds[by[0]] == cond.True
	for _, q := range by {
		byIdx = append(byIdx, idx[q])
		if c.f.Rules[idx[q]].Action != act {
			same = false
		}
	}
	others := c.ruleNames(byIdx)
	if len(byIdx) > 1 {
		others = "one of " + others
	}
	var names []string
	for _, q := range byIdx {
		names = append(names, c.f.Rules[q].Name)
	}
	key := fmt.Sprintf("shadowed|%s|%s|%v|%v", rule.Name, strings.Join(names, ","), same, unconditional)
	holds := "holds too"
	wh := rule.When.Range()
	c.l.add(key, wh, contextOf(wh, rule.DeclRange), c.name(nr), c.a.Name, func(syscalls string, _ int, on string) (string, string) {
		if same {
			other := "that rule"
			if len(byIdx) > 1 {
				other = "those rules"
			}
			if unconditional {
				return "Condition made meaningless by another rule",
					fmt.Sprintf("Rule %q gives %s%s the verdict %s when this condition holds, but %s gives it %s whatever the arguments, "+
						"and a call gets the verdict of the rules that hold: this condition restricts nothing. "+
						"If it says what you mean, take %s out of %s or give %s a condition; otherwise take %s out of rule %q.",
						rule.Name, syscalls, on, actionText(rule.Action, act), others, actionText(rule.Action, act), syscalls, other, other, syscalls, rule.Name)
			}
			return "Condition made meaningless by another rule",
				fmt.Sprintf("Rule %q gives %s%s the verdict %s when this condition holds, but wherever it holds, %s holds too with the same verdict. "+
					"So rule %q changes nothing: without it every call gets the same verdict. "+
					"If its condition says what you mean, narrow %s; otherwise take %s out of rule %q.",
					rule.Name, syscalls, on, actionText(rule.Action, act), others, rule.Name, other, syscalls, rule.Name)
		}
		var acts []string
		for _, q := range byIdx {
			if a := actionText(c.hrule(q).Action, c.f.Rules[q].Action); !slices.Contains(acts, a) {
				acts = append(acts, a)
			}
		}
		verb := fmt.Sprintf("wherever this condition holds, %s %s, and %s wins", others, holds, prose(acts))
		if unconditional {
			verb = fmt.Sprintf("%s holds whatever the arguments, and %s wins", others, prose(acts))
		}
		return "Rule never decides",
			fmt.Sprintf("Rule %q would give %s%s the verdict %s when its condition holds, but %s: "+
				"among the rules that hold, the most restrictive action wins, and the first declared among equals. "+
				"So rule %q never decides a call. "+
				"If it should, narrow the other rule's condition so that it leaves these calls out; otherwise take %s out of rule %q.",
				rule.Name, syscalls, on, actionText(rule.Action, act), verb, rule.Name, syscalls, rule.Name)
	})
}

// actionText spells an action as the configuration does: errno(EPERM)
// rather than errno(1) when it was written with a name.
func actionText(spec hclspec.ActionSpec, act policy.Action) string {
	if ref, ok := spec.Errno.(hclspec.ConstRef); ok && act.Kind == policy.Errno {
		return fmt.Sprintf("errno(%s)", ref.Name)
	}
	return act.String()
}

// -- Conditions that are always or never true ------------------------------

// names lists the constants a value names.
func names(v hclspec.Value) map[string]bool {
	out := map[string]bool{}
	var walk func(hclspec.Value)
	walk = func(v hclspec.Value) {
		switch x := v.(type) {
		case hclspec.ConstRef:
			out[x.Name] = true
		case hclspec.BitOr:
			for _, y := range x.Xs {
				walk(y)
			}
		}
	}
	walk(v)
	return out
}

// constants reports every part of a condition that is always or never
// true, on each rule's syscalls: the largest such part, or, when its value
// comes from parts of it that are constant themselves, those parts.
// Comparisons read on one width are left to resolve.Policy, which reports them as
// "decided by its mask" (and catches every one); a literal true or false
// says what it means.
func (c *archLint) constants() {
	for i, r := range c.f.Rules {
		rule := c.hrule(i)
		if rule.When == nil {
			continue
		}
		b := newBDD()
		whole := b.expr(r.When)
		if b.err != nil {
			continue
		}
		c.constWalk(b, i, rule, rule.When, r.When, whole, true)
	}
}

// constWalk visits part hc (resolved as pe) of rule i's condition, whose
// whole is the diagram whole.
func (c *archLint) constWalk(b *bdd, i int, rule *hclspec.Rule, hc hclspec.Cond, pe policy.Expr, whole cond.Ref, isWhole bool) {
	r := b.expr(pe)
	if b.err != nil {
		return
	}
	type part struct {
		hc hclspec.Cond
		pe policy.Expr
	}
	var parts []part
	switch x := hc.(type) {
	case hclspec.And:
		if y, ok := pe.(policy.And); ok && len(y) == len(x.Xs) {
			for k := range y {
				parts = append(parts, part{x.Xs[k], y[k]})
			}
		}
	case hclspec.Or:
		if y, ok := pe.(policy.Or); ok && len(y) == len(x.Xs) {
			for k := range y {
				parts = append(parts, part{x.Xs[k], y[k]})
			}
		}
	case hclspec.Not:
		if y, ok := pe.(policy.Not); ok {
			parts = append(parts, part{x.X, y.X})
		}
	}
	if r != cond.True && r != cond.False {
		for _, p := range parts {
			c.constWalk(b, i, rule, p.hc, p.pe, whole, false)
		}
		if x, ok := hc.(hclspec.Contains); ok {
			if y, ok := pe.(policy.Or); ok && len(y) == len(x.List) {
				for k, item := range y {
					if cmp, ok := item.(policy.Cmp); ok && b.expr(cmp) == cond.False {
						c.reportItem(i, rule, x.List[k].Range(), cmp)
					}
				}
			}
		}
		return
	}
	switch hc.(type) {
	case hclspec.BoolLit:
		return
	case hclspec.Compare:
		// resolve.Policy reports a comparison read on one width; one whose
		// width depends on the call is a guarded || of comparisons,
		// which it leaves alone.
		if _, single := pe.(policy.Cmp); single {
			return
		}
	}
	// The parts that give this one its value: a false part of an and, a
	// true part of an or, every part when all agree, the operand of a not.
	var forcing []part
	for _, p := range parts {
		v := b.expr(p.pe)
		switch hc.(type) {
		case hclspec.And:
			if v == cond.False || r == cond.True {
				forcing = append(forcing, p)
			}
		case hclspec.Or:
			if v == cond.True || r == cond.False {
				forcing = append(forcing, p)
			}
		case hclspec.Not:
			forcing = append(forcing, p)
		}
	}
	if b.err != nil {
		return
	}
	if len(forcing) > 0 {
		for _, p := range forcing {
			c.constWalk(b, i, rule, p.hc, p.pe, whole, false)
		}
		return
	}
	c.reportConstant(i, rule, hc, pe, r == cond.True, whole, isWhole)
}

func (c *archLint) reportConstant(i int, rule *hclspec.Rule, hc hclspec.Cond, pe policy.Expr, always bool, whole cond.Ref, isWhole bool) {
	rng := hc.Range()
	hint := "Check its operators and values."
	switch x := hc.(type) {
	case hclspec.HasBits:
		hint = fmt.Sprintf("has_bits(arg%d, ...) with a mask of 0 checks no bit, so it always holds.", x.Arg)
		if names(x.Mask)["O_RDONLY"] {
			hint += fmt.Sprintf(" O_RDONLY is 0: to match read-only opens, compare the access mode, masked(arg%d, O_ACCMODE) == O_RDONLY.", x.Arg)
		}
	case hclspec.And:
		if !always {
			hint = "Its parts cannot all hold at once (an argument has one value): did you mean ||?"
		}
	case hclspec.Or:
		if always {
			hint = "Between them its parts cover every value: did you mean &&?"
		}
	case hclspec.Contains:
		if always {
			hint = "The bits compared match one of the values whatever the call passes."
		} else {
			hint = "None of the values can be made by the bits compared."
		}
	}
	summary, what := "Condition always true", "holds whatever the arguments"
	if !always {
		summary, what = "Condition never true", "never holds"
	}
	subject := fmt.Sprintf("Rule %q's condition", rule.Name)
	if !isWhole {
		summary = "Part of a condition " + strings.TrimPrefix(summary, "Condition ")
		subject = fmt.Sprintf("This part of rule %q's condition", rule.Name)
	}
	var effect string
	switch {
	case whole == cond.True:
		effect = fmt.Sprintf("rule %q applies to every call, as if it had no condition", rule.Name)
	case whole == cond.False:
		effect = fmt.Sprintf("rule %q never applies (the calls get what the other rules or the default action give them)", rule.Name)
	case always:
		effect = "it restricts nothing"
	default:
		effect = "the alternative it belongs to never lets a call through"
	}
	switch {
	case !isWhole && whole == cond.True:
		effect = "so the whole condition always holds, and " + effect
	case !isWhole && whole == cond.False:
		effect = "so the whole condition never holds, and " + effect
	default:
		effect = "so " + effect
	}
	key := fmt.Sprintf("constant|%s|%s|%v|%s|%s", rule.Name, rng, always, effect, pe)
	c.l.add(key, rng, contextOf(rng, rule.DeclRange), c.name(c.f.Rules[i].Nr), c.a.Name, func(syscalls string, _ int, on string) (string, string) {
		return summary, fmt.Sprintf("%s %s for %s%s, %s. %s", subject, what, syscalls, on, effect, hint)
	})
}

func (c *archLint) reportItem(i int, rule *hclspec.Rule, rng hcl.Range, cmp policy.Cmp) {
	key := fmt.Sprintf("item|%s|%s|%s", rule.Name, rng, cmp)
	c.l.add(key, rng, contextOf(rng, rule.DeclRange), c.name(c.f.Rules[i].Nr), c.a.Name, func(syscalls string, _ int, on string) (string, string) {
		return "Value never matches", fmt.Sprintf("In rule %q, the bits of arg%d that are compared (mask %#x) can never make %#x, "+
			"so this value matches no call to %s%s. Check the mask and the value.", rule.Name, cmp.Arg, cmp.Mask, cmp.Value, syscalls, on)
	})
}

// -- Siblings that undo a restriction --------------------------------------

// position is where a family member carries the family's parameter on the
// architecture: an argument, or -1 when it is not in a register.
func (c *archLint) position(m member) int {
	switch m.arg {
	case argMemory:
		return -1
	case argCloneFlags:
		return c.a.CloneFlagsArg()
	}
	if !c.inRegister(m.syscall, m.arg) {
		return -1
	}
	return m.arg
}

// restriction is what the policy lets through of one syscall's argument.
type restriction struct {
	// allowed is the condition on argument arg alone: true for the values
	// the syscall can be allowed with, whatever the other arguments.
	b       *bdd
	allowed cond.Ref
	arg     int
	// refused is an example of a value never allowed.
	refused uint64
}

// restrict returns what the policy lets through of argument arg of
// syscall nr, and false when that argument is not restricted: allowed for
// every value, or for none.
func (c *archLint) restrict(nr uint32, arg int) (restriction, bool) {
	b := newBDD()
	a := c.allowed(b, nr, nil)
	p := b.exists(a, arg)
	if b.err != nil || p == cond.True || p == cond.False {
		return restriction{}, false
	}
	w, _ := b.m.Witness(b.not(p))
	if b.err != nil {
		return restriction{}, false
	}
	return restriction{b: b, allowed: p, arg: arg, refused: w[arg]}, true
}

// families reports, for each family of the sibling table, a member whose
// parameter the policy restricts while another member is allowed whatever
// its parameter (or at all, when it takes the parameter from memory).
func (c *archLint) families() {
	for fi := range families {
		fam := &families[fi]
		for _, rm := range fam.members {
			rnr, ok := c.nr(rm.syscall)
			pos := c.position(rm)
			if !ok || !rm.restricts || pos < 0 || !c.hasAllowRule(rnr) {
				continue
			}
			res, ok := c.restrict(rnr, pos)
			if !ok {
				continue
			}
			var rargs [6]uint64
			rargs[pos] = res.refused
			restrictors := c.explain(rnr, rargs)
			for _, sm := range fam.members {
				snr, ok := c.nr(sm.syscall)
				if !ok || snr == rnr || c.equivalentPair(sm.syscall, rm.syscall) {
					continue
				}
				if rm.reaches != "" && sm.reaches != "" && rm.reaches != sm.reaches {
					// recvfrom reads sockets only, mmap files only: a
					// condition on one says nothing of the other.
					continue
				}
				spos := c.position(sm)
				b := newBDD()
				a := c.allowed(b, snr, nil)
				if v, ok := c.a.Const(sm.guard); ok && spos >= 0 && sm.guard != "" {
					// Only the calls that do the family's thing.
					a = b.and(a, b.expr(policy.Cmp{Arg: sm.guardArg, Mask: v & c.argMask(sm.syscall, sm.guardArg), Op: policy.EQ, Value: v & c.argMask(sm.syscall, sm.guardArg)}))
				}
				var unrestricted bool
				if spos >= 0 {
					unrestricted = b.exists(a, spos) == cond.True
				} else {
					unrestricted = a != cond.False
				}
				if b.err != nil || !unrestricted {
					continue
				}
				// The rule that lets the sibling through with the value
				// the restricted syscall refuses.
				at := a
				if spos >= 0 {
					at = b.and(a, b.expr(policy.Cmp{Arg: spos, Mask: c.argMask(sm.syscall, spos), Op: policy.EQ, Value: res.refused & c.argMask(sm.syscall, spos)}))
				}
				_, which, ok := c.witness(b, at, snr)
				if b.err != nil || !ok {
					continue
				}
				c.reportSibling(fam, sm, rnr, snr, pos, spos, res.refused, restrictors, which)
			}
		}
	}
}

// equivalentPair reports whether the equivalents table relates s to r,
// which the exact lint checks instead.
func (c *archLint) equivalentPair(s, r string) bool {
	for _, e := range equivalents {
		if e.syscall == s && e.as == r {
			return true
		}
	}
	return false
}

func (c *archLint) value(fam *family, v uint64) string {
	if fam.hex {
		return fmt.Sprintf("%#x", v)
	}
	return fmt.Sprint(int64(int32(uint32(v)))) // fds and signals read as ints
}

func (c *archLint) reportSibling(fam *family, sm member, rnr, snr uint32, pos, spos int, refused uint64, restrictors []int, which int) {
	var subject hcl.Range
	var context *hcl.Range
	sRule := "the default action (log)"
	sName := ""
	if which >= 0 {
		subject = c.ref(which)
		r := c.hrule(which)
		context = contextOf(subject, r.DeclRange)
		sRule = fmt.Sprintf("rule %q", r.Name)
		sName = r.Name
	} else if len(restrictors) > 0 {
		r := c.hrule(restrictors[0])
		subject = r.DeclRange
		if r.When != nil {
			subject = r.When.Range()
		}
	} else {
		subject = c.l.svc.DeclRange
	}
	var rNames []string
	for _, i := range restrictors {
		rNames = append(rNames, c.f.Rules[i].Name)
	}
	rWho := c.ruleNames(restrictors)
	rSys := c.name(rnr)
	sSys := c.name(snr)
	val := c.value(fam, refused)
	// The siblings one rule allows make one finding, whose syscalls are
	// the siblings; one with its own explanation stands alone.
	key := fmt.Sprintf("sibling|%s|%s|%s|%s|%s|%v", fam.name, rSys, strings.Join(rNames, ","), sName, val, spos < 0)
	if sm.advice != "" || sm.why != "" || sm.reaches != "" {
		key += "|" + sm.advice + sm.why + sm.reaches
	}
	c.l.add(key, subject, context, sSys, c.a.Name, func(syscalls string, n int, on string) (string, string) {
		var how string
		if spos >= 0 {
			reaches := sm.reaches
			if reaches == "" {
				reaches = fam.param
			}
			how = fmt.Sprintf("%s allows %s%s whatever the %s, and %s can %s any %s, as %s does", sRule, syscalls, on, fam.param, syscalls, fam.does, reaches, rSys)
		} else if sm.why != "" {
			how = fmt.Sprintf("%s allows %s%s, which %s", sRule, syscalls, on, sm.why)
		} else {
			// A member whose argument is in a register elsewhere, but not
			// here: i386's and s390x's mmap take a pointer to theirs.
			how = fmt.Sprintf("%s allows %s%s, which takes its arguments from memory there (a pointer to them), where no filter sees its %s", sRule, syscalls, on, fam.param)
		}
		its, it, does := "its", "it", "undoes"
		if n > 1 {
			its, it, does = "their", "them", "undo"
		}
		fix := sm.advice
		switch {
		case spos < 0 && sm.why == "":
			// The advice, if any, is about the register argument.
			fix = fmt.Sprintf("Deny %s where its %s is in memory; a condition on it cannot be checked there.", syscalls, fam.param)
		case fix != "":
		case spos >= 0:
			fix = fmt.Sprintf("Give %s a condition on %s %s too, or deny %s.", syscalls, its, fam.param, it)
		default:
			fix = fmt.Sprintf("Deny %s, or give %s the action errno(ENOSYS) if the service falls back to %s.", syscalls, it, rSys)
		}
		return fmt.Sprintf("%s %s the condition on %s", syscalls, does, rSys),
			fmt.Sprintf("%s allows %s only for some values of its %s, arg%d (%s is refused, for one), but %s: "+
				"the condition on %s does not limit what the service can %s. %s",
				capitalize(rWho), rSys, fam.param, pos, val, how, rSys, fam.does, fix)
	})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// -- Exact equivalents -----------------------------------------------------

// equivalents reports calls the policy allows to a syscall whose exact
// counterpart (fork and clone(SIGCHLD), open and openat(AT_FDCWD, ...))
// it refuses, where the counterpart has a rule that allows it otherwise,
// unless the syscall's own rules look at the arguments the counterpart's
// rules look at (then both are restricted, on purpose).
func (c *archLint) equivalents() {
	for ei := range equivalents {
		e := &equivalents[ei]
		snr, ok1 := c.nr(e.syscall)
		rnr, ok2 := c.nr(e.as)
		if !ok1 || !ok2 || !c.hasAllowRule(snr) || !c.hasAllowRule(rnr) {
			continue
		}
		args := e.args
		if e.as == "clone" {
			args = []string{"0", "0", "0", "0", "0"}
			args[c.a.CloneFlagsArg()] = e.cloneFlags
		}
		ops, ok := c.operands(args)
		if !ok {
			continue
		}
		b := newBDD()
		g := cond.True
		for k, v := range e.guard {
			val, ok := c.constant(v)
			if !ok {
				g = cond.False
				break
			}
			mask := c.argMask(e.syscall, k)
			g = b.and(g, b.expr(policy.Cmp{Arg: k, Mask: mask, Op: policy.EQ, Value: val & mask}))
		}
		s := c.allowed(b, snr, nil)
		// A syscall whose own rules look at the arguments it passes on
		// to where the counterpart's rules look is restricted on purpose:
		// fstat allowed on one fd while newfstatat is allowed only with
		// AT_SYMLINK_NOFOLLOW says what it means.
		deliberate := false
		looked := map[int]bool{}
		for _, k := range b.m.Depends(s) {
			looked[k] = true
		}
		for _, j := range b.m.Depends(c.allowed(b, rnr, nil)) {
			if j < len(ops) && ops[j].from >= 0 && looked[ops[j].from] {
				deliberate = true
			}
		}
		if deliberate {
			continue
		}
		r := c.allowed(b, rnr, func(x policy.Expr) policy.Expr { return substitute(x, ops) })
		refused := b.forall(b.not(r), 0, 1, 2, 3, 4, 5)
		x := b.and(b.and(s, g), refused)
		if b.err != nil || x == cond.False {
			continue
		}
		sargs, which, _ := c.witness(b, x, snr)
		var rargs [6]uint64
		for j, o := range ops {
			if j < 6 {
				rargs[j] = o.valueOf(sargs)
			}
		}
		restrictors := c.explain(rnr, rargs)
		var shown []string
		for _, k := range b.m.Depends(x) {
			if k < 6 {
				shown = append(shown, fmt.Sprintf("arg%d = %#x", k, sargs[k]))
			}
		}
		c.reportEquivalent(e, args, snr, rnr, which, restrictors, shown)
	}
}

// operand is one argument of a counterpart: an argument of the syscall
// (from >= 0), a constant, or free (a value the syscall makes up).
type operand struct {
	from  int
	value uint64
	free  bool
}

func (o operand) valueOf(args [6]uint64) uint64 {
	if o.from >= 0 {
		return args[o.from]
	}
	return o.value
}

// operands resolves an equivalent's arguments on the architecture.
func (c *archLint) operands(args []string) ([]operand, bool) {
	out := make([]operand, len(args))
	for j, s := range args {
		switch {
		case strings.HasPrefix(s, "$"):
			k, err := strconv.Atoi(s[1:])
			if err != nil || k < 0 || k > 5 {
				return nil, false
			}
			out[j] = operand{from: k}
		case s == "*":
			out[j] = operand{from: -1, free: true}
		default:
			v, ok := c.constant(s)
			if !ok {
				return nil, false
			}
			out[j] = operand{from: -1, value: v}
		}
	}
	return out, true
}

// constant resolves a number, a constant's name, or names joined by "|".
func (c *archLint) constant(s string) (uint64, bool) {
	var v uint64
	for _, part := range strings.Split(s, "|") {
		if x, err := strconv.ParseUint(part, 10, 64); err == nil {
			v |= x
			continue
		}
		x, ok := c.a.Const(part)
		if !ok {
			return 0, false
		}
		v |= x
	}
	return v, true
}

// substitute rewrites a condition on a counterpart's arguments as one on
// the syscall's: a comparison of an argument the syscall passes on becomes
// a comparison of that argument, one of a constant is decided, one of a
// free argument becomes one of argument 6+j (which the caller quantifies).
func substitute(e policy.Expr, ops []operand) policy.Expr {
	switch x := e.(type) {
	case policy.And:
		out := make(policy.And, len(x))
		for i, y := range x {
			out[i] = substitute(y, ops)
		}
		return out
	case policy.Or:
		out := make(policy.Or, len(x))
		for i, y := range x {
			out[i] = substitute(y, ops)
		}
		return out
	case policy.Not:
		return policy.Not{X: substitute(x.X, ops)}
	case policy.Cmp:
		if x.Arg >= len(ops) {
			// An argument the counterpart does not take: resolve.Policy refuses
			// conditions on it, so it cannot occur; treat it as free.
			x.Arg += 6
			return x
		}
		o := ops[x.Arg]
		switch {
		case o.free:
			x.Arg += 6
			return x
		case o.from >= 0:
			x.Arg = o.from
			return x
		}
		return policy.Const(x.Op.Apply(o.value&x.Mask, x.Value))
	}
	return e
}

func (c *archLint) reportEquivalent(e *equivalent, args []string, snr, rnr uint32, which int, restrictors []int, shown []string) {
	sSys, rSys := c.name(snr), c.name(rnr)
	var subject hcl.Range
	var context *hcl.Range
	sName := ""
	sRule := "the default action (log)"
	if which >= 0 {
		subject = c.ref(which)
		r := c.hrule(which)
		context = contextOf(subject, r.DeclRange)
		sName = r.Name
		sRule = fmt.Sprintf("rule %q", r.Name)
	} else {
		subject = c.l.svc.DeclRange
	}
	var rNames []string
	for _, i := range restrictors {
		rNames = append(rNames, c.f.Rules[i].Name)
	}
	rWho := c.ruleNames(restrictors)
	n, _ := c.a.NumArgs(e.syscall)
	params := make([]string, n)
	for k := range params {
		params[k] = fmt.Sprintf("arg%d", k)
	}
	shownArgs := make([]string, len(args))
	for j, a := range args {
		switch {
		case strings.HasPrefix(a, "$"):
			shownArgs[j] = "arg" + a[1:]
		case a == "*":
			shownArgs[j] = "..."
		default:
			shownArgs[j] = a
		}
	}
	var guard []string
	for k := 0; k < 6; k++ {
		if v, ok := e.guard[k]; ok {
			guard = append(guard, fmt.Sprintf("arg%d == %s", k, v))
		}
	}
	same := fmt.Sprintf("%s(%s) is %s(%s)", sSys, strings.Join(params, ", "), rSys, strings.Join(shownArgs, ", "))
	if len(guard) > 0 {
		same += " when " + strings.Join(guard, " && ")
	}
	with := ""
	if len(shown) > 0 {
		with = " with " + strings.Join(shown, ", ")
	}
	key := fmt.Sprintf("equivalent|%s|%s|%s|%s|%s", sSys, rSys, sName, strings.Join(rNames, ","), with)
	c.l.add(key, subject, context, sSys, c.a.Name, func(_ string, _ int, on string) (string, string) {
		fix := e.advice
		if fix == "" {
			fix = fmt.Sprintf("Give %s a condition that refuses what %s refuses, or deny it.", sSys, rSys)
		}
		return fmt.Sprintf("%s does what the rules for %s refuse", sSys, rSys),
			fmt.Sprintf("%s (the kernel runs the same code). %s allows %s%s%s, "+
				"but its counterpart is a call to %s that %s refuses: the condition on %s does not hold. %s",
				same, capitalize(sRule), sSys, with, on, rSys, rWho, rSys, fix)
	})
}

// -- Renumbered fds --------------------------------------------------------

// renumbering reports fd conditions that dup2, dup3, fcntl(F_DUPFD) or dup
// can get around: the policy lets some syscall use fd N but not fd M, and
// lets the service put M's file on N (dup2 and dup3 choose N, replacing
// what was there; fcntl(F_DUPFD) takes the lowest free fd from its
// argument up, dup the lowest free fd, so N must be free or closable).
func (c *archLint) renumbering() {
	type cand struct {
		syscall string
		arg     int
	}
	var cands []cand
	seen := map[cand]bool{}
	addCand := func(s string, k int) {
		x := cand{s, k}
		if !seen[x] {
			seen[x] = true
			cands = append(cands, x)
		}
	}
	for _, fam := range families {
		if !fam.fd {
			continue
		}
		for _, m := range fam.members {
			if m.restricts && m.arg >= 0 {
				addCand(m.syscall, m.arg)
			}
		}
	}
	for _, x := range fdArgs {
		addCand(x.syscall, x.arg)
	}
	for _, x := range cands {
		rnr, ok := c.nr(x.syscall)
		if !ok || !c.inRegister(x.syscall, x.arg) || !c.hasAllowRule(rnr) {
			continue
		}
		if _, ok := c.restrict(rnr, x.arg); !ok {
			continue
		}
		for _, d := range renumberers {
			dnr, ok := c.nr(d)
			if !ok || dnr == rnr || !c.hasAllowRule(dnr) {
				continue
			}
			c.renumber(x.syscall, x.arg, rnr, d, dnr)
		}
		c.reopen(x.syscall, x.arg, rnr)
	}
}

// reopen reports an fd condition that close and any syscall giving a new
// fd get around together: the condition lets rSys use an fd N the service
// starts with (stderr, an fd block's) and refuses the fd where the
// service's first new file lands, the lowest one it does not start with;
// close(N) (or close_range over N) frees N, and the next file the service
// opens, socket it makes or connection it accepts gets N, the lowest free
// fd. `write` allowed on stderr and the log file, `close` allowed on any
// fd: close(1) and openat("/etc/...", O_WRONLY) make write(1) write where
// the condition meant to refuse. A condition that allows the fd of the
// first new file already lets the syscall use new files; moving one lower
// changes nothing, so that is not reported.
func (c *archLint) reopen(rSys string, k int, rnr uint32) {
	alloc := ""
	for _, n := range allocators {
		if anr, ok := c.nr(n); ok && c.hasAllowRule(anr) {
			alloc = n
			break
		}
	}
	if alloc == "" {
		return
	}
	const fdMask = 0xffffffff
	fdCmp := func(arg int, op policy.Op, n int) policy.Expr {
		return policy.Cmp{Arg: arg, Mask: fdMask, Op: op, Value: uint64(n)}
	}
	start := c.startFds()
	first := 0
	for slices.Contains(start, first) {
		first++
	}
	b := newBDD()
	p := b.exists(c.allowed(b, rnr, nil), k)
	if b.err != nil || b.and(p, b.expr(fdCmp(k, policy.EQ, first))) != cond.False {
		return
	}
	// The calls that close fd n: close(n), and close_range(lo, hi, flags)
	// with lo <= n <= hi and without CLOSE_RANGE_CLOEXEC (which only
	// marks them close-on-exec).
	closers := func(closer string, n int) (policy.Expr, bool) {
		switch closer {
		case "close":
			return fdCmp(0, policy.EQ, n), true
		case "close_range":
			cloexec, ok := c.a.Const("CLOSE_RANGE_CLOEXEC")
			if !ok {
				return nil, false
			}
			return policy.And{fdCmp(0, policy.LE, n), fdCmp(1, policy.GE, n),
				policy.Not{X: policy.Cmp{Arg: 2, Mask: cloexec, Op: policy.EQ, Value: cloexec}}}, true
		}
		return nil, false
	}
	for _, closer := range []string{"close", "close_range"} {
		cnr, ok := c.nr(closer)
		if !ok || cnr == rnr || !c.hasAllowRule(cnr) {
			continue
		}
		ca := c.allowed(b, cnr, nil)
		for _, n := range start {
			e, ok := closers(closer, n)
			if !ok {
				break
			}
			x := b.and(ca, b.expr(e))
			if b.err != nil {
				return
			}
			if x == cond.False || b.and(p, b.expr(fdCmp(k, policy.EQ, n))) == cond.False {
				continue
			}
			// The plainest such call: the one closing n alone, or from
			// n up, so that n is the lowest fd it frees.
			for _, tighter := range []policy.Expr{
				policy.And{fdCmp(0, policy.EQ, n), fdCmp(1, policy.EQ, n)},
				fdCmp(0, policy.EQ, n),
			} {
				if closer == "close_range" {
					if y := b.and(x, b.expr(tighter)); y != cond.False {
						x = y
						break
					}
				}
			}
			cargs, which, _ := c.witness(b, x, cnr)
			if which < 0 {
				continue
			}
			call := fmt.Sprintf("close(%d)", n)
			fix := fmt.Sprintf("Keep close off fd %d: add `arg0 != %d` to rule %q's condition.", n, n, c.hrule(which).Name)
			if closer == "close_range" {
				call = fmt.Sprintf("close_range(%d, %d, %#x)", uint32(cargs[0]), uint32(cargs[1]), uint32(cargs[2]))
				fix = fmt.Sprintf("Keep close_range off fd %d: let it close only fds above those the service starts with (`arg0 > %d`), or give it the action errno(ENOSYS), from which glibc's closefrom falls back to close.", n, start[len(start)-1])
			}
			next := fmt.Sprintf("the next file the service opens (or socket it makes, connection it accepts) gets fd %d, the lowest free one", n)
			if uint32(cargs[0]) != uint32(n) {
				next = fmt.Sprintf("the next files the service opens (or sockets it makes, connections it accepts) get the fds it freed, the lowest first: fd %d among them", n)
			}
			c.reportReopen(rSys, k, rnr, n, first, alloc, call, next, fix, which)
			return
		}
	}
}

// reportReopen reports what reopen found: call, allowed by rule which,
// frees fd n, which rSys may use, and alloc puts a new file there (as next
// says).
func (c *archLint) reportReopen(rSys string, k int, rnr uint32, n, first int, alloc, call, next, fix string, which int) {
	var rargs [6]uint64
	rargs[k] = uint64(n)
	users := c.explain(rnr, rargs)
	var uNames []string
	for _, i := range users {
		uNames = append(uNames, c.f.Rules[i].Name)
	}
	cRule := c.hrule(which)
	subject := c.ref(which)
	closer, _, _ := strings.Cut(call, "(")
	key := fmt.Sprintf("reopen|%s|%s|%d|%s|%s", cRule.Name, strings.Join(uNames, ","), n, alloc, closer)
	c.l.add(key, subject, contextOf(subject, cRule.DeclRange), rSys, c.a.Name, func(syscalls string, _ int, on string) (string, string) {
		return fmt.Sprintf("%s can put new files on the fds %s may use", closer, syscalls),
			fmt.Sprintf("%s lets %s use fd %d, which the service starts with, and refuses fd %d, where the first file it opens lands; but rule %q allows %s%s, and %s is allowed: "+
				"after %s %s, which %s may use. "+
				"A condition on an fd number holds only while the number means the same file. %s",
				capitalize(c.ruleNames(users)), syscalls, n, first, cRule.Name, call, on, alloc, call, next, syscalls, fix)
	})
}

func (c *archLint) renumber(rSys string, k int, rnr uint32, d string, dnr uint32) {
	b := newBDD()
	da := c.allowed(b, dnr, nil)
	p := b.exists(c.allowed(b, rnr, nil), k)
	refusedOld := b.move(b.not(p), k, 0)
	const fdMask = 0xffffffff
	var x cond.Ref
	switch d {
	case "dup2", "dup3":
		x = b.and(b.and(da, refusedOld), b.move(p, k, 1))
	default:
		// N must be free: not one the service starts with, or one it
		// may close.
		open := cond.False
		for _, n := range c.startFds() {
			open = b.or(open, b.expr(policy.Cmp{Arg: k, Mask: fdMask, Op: policy.EQ, Value: uint64(n)}))
		}
		closable := cond.False
		if cnr, ok := c.nr("close"); ok {
			closable = b.move(b.exists(c.allowed(b, cnr, nil), 0), 0, k)
		}
		free := b.and(p, b.or(b.not(open), closable))
		if b.err != nil || free == cond.False {
			return
		}
		if d == "dup" {
			x = b.and(da, refusedOld)
			break
		}
		top, _ := b.m.Max(free, k, fdMask)
		fdup, _ := c.a.Const("F_DUPFD")
		fdupc, _ := c.a.Const("F_DUPFD_CLOEXEC")
		cmd := b.or(b.expr(policy.Cmp{Arg: 1, Mask: fdMask, Op: policy.EQ, Value: fdup}),
			b.expr(policy.Cmp{Arg: 1, Mask: fdMask, Op: policy.EQ, Value: fdupc}))
		from := b.expr(policy.Cmp{Arg: 2, Mask: fdMask, Op: policy.LE, Value: top})
		x = b.and(b.and(da, refusedOld), b.and(cmd, from))
	}
	if b.err != nil || x == cond.False {
		return
	}
	dargs, which, _ := c.witness(b, x, dnr)
	if which < 0 {
		return
	}
	var rargs [6]uint64
	rargs[k] = dargs[0]
	restrictors := c.explain(rnr, rargs)
	var rNames []string
	for _, i := range restrictors {
		rNames = append(rNames, c.f.Rules[i].Name)
	}
	rWho := c.ruleNames(restrictors)
	old := int32(uint32(dargs[0]))
	dRule := c.hrule(which)
	subject := c.ref(which)
	var how string
	switch d {
	case "dup2", "dup3":
		how = fmt.Sprintf("%s(%d, %d) puts the file of fd %d on fd %d, which it may use", d, old, int32(uint32(dargs[1])), old, int32(uint32(dargs[1])))
	case "dup":
		how = fmt.Sprintf("dup(%d) puts the file of fd %d on the lowest free fd, and fds it may use can be free", old, old)
	default:
		how = fmt.Sprintf("%s(%d, F_DUPFD, %d) puts the file of fd %d on the lowest free fd from %d up, and fds it may use can be free there", d, old, dargs[2], old, dargs[2])
	}
	key := fmt.Sprintf("renumber|%s|%s|%s|%s", d, dRule.Name, strings.Join(rNames, ","), how)
	c.l.add(key, subject, contextOf(subject, dRule.DeclRange), rSys, c.a.Name, func(syscalls string, _ int, on string) (string, string) {
		return fmt.Sprintf("%s can move files onto the fds %s may use", d, syscalls),
			fmt.Sprintf("%s lets %s use only some fds (fd %d is refused, for one), but rule %q allows %s%s: %s. "+
				"A condition on an fd number holds only while the number means the same file. %s",
				capitalize(rWho), syscalls, old, dRule.Name, d, on, how, renumberFix(d))
	})
}

func renumberFix(d string) string {
	switch d {
	case "dup2", "dup3":
		return fmt.Sprintf("Deny %s, or give it a condition on arg1 (the new fd) that keeps it off the fds that fd conditions allow.", d)
	case "dup":
		return "Deny dup: it takes the lowest free fd, which can be one that fd conditions allow."
	}
	return fmt.Sprintf("Refuse F_DUPFD and F_DUPFD_CLOEXEC in %s's arg1, or deny %s.", d, d)
}

// startFds are the fds the service starts with: stdin, stdout, stderr and
// those of its fd blocks.
func (c *archLint) startFds() []int {
	out := []int{0, 1, 2}
	for _, fd := range c.l.svc.Fds {
		if fd.Number > 2 {
			out = append(out, fd.Number)
		}
	}
	return out
}
