package firedancer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/fencer-dev/fencer/internal/arch"
)

// WriteOptions say how Write places a policy in a fencer configuration.
type WriteOptions struct {
	// Header is the file's first comment lines (where the policy comes
	// from, what generated the file).
	Header []string
	// Hosts are the host blocks the service is planned for; empty: every
	// host of the configuration.
	Hosts []string
	// Arches are the architectures the configuration is for: a constant is
	// written by name only when fencer knows it on each with the value the
	// policy means, and as a number otherwise.
	Arches []*arch.Arch
	// Params gives each parameter of the signature its fd number.
	Params map[string]uint64
	// Roles, when set, writes the parameters as a user keeps them
	// instead of Params: each a variable (VarPrefix and its name), and a
	// RoleFd one also an fd block numbered by its variable.
	Roles map[string]ParamRole
	// VarPrefix goes before each variable's name (the service's name and
	// an underscore when a configuration has several services).
	VarPrefix string
	// ServiceArch writes the service's architectures (its variants') as
	// its `arch` list.
	ServiceArch bool
}

// ParamNumbers numbers the parameters as fdgen does: 4, 6, 8, ... in the
// signature's order, apart from each other and from stderr so that no
// two of them make a range that Firedancer's runtime values would not.
func ParamNumbers(p *Policy) map[string]uint64 {
	m := map[string]uint64{}
	for i, prm := range p.Params {
		m[prm.Name] = uint64(4 + 2*i)
	}
	return m
}

// Write renders p as a fencer configuration: one service named after the
// policy, an fd block (`number = N`) for each parameter, one rule per
// syscall named after it, with the policy's comments, and the default
// action of Firedancer's filter, kill_process.
func Write(p *Policy, opt WriteOptions) ([]byte, error) {
	return WriteService(p.Name, []Variant{{Policy: p, Arches: opt.Arches}}, opt)
}

// Variant is one policy of a service and the architectures it is for:
// Firedancer's NAME.seccomppolicy and NAME_arm64.seccomppolicy are two
// variants of service NAME.
type Variant struct {
	Policy *Policy
	Arches []*arch.Arch
}

// WriteService renders the variants as one service named name: the
// first variant's comments, its parameters (WriteOptions.Params or
// Roles), and one rule per syscall, with an `arch` list when the
// variants differ on it (a rule per group of variants that agree, named
// after the syscall and, when several, the group's first architecture).
func WriteService(name string, vs []Variant, opt WriteOptions) ([]byte, error) {
	w := &writer{opt: opt}
	for _, h := range opt.Header {
		w.comment("", h)
	}
	if len(opt.Header) > 0 {
		w.line("")
	}
	p := vs[0].Policy
	params := serviceParams(vs)
	if opt.Roles != nil {
		w.variables(name, vs, params)
	}
	w.line(fmt.Sprintf("service %q {", name))
	w.line(fmt.Sprintf("  unit           = %q", name+".service"))
	if len(opt.Hosts) > 0 {
		w.line(fmt.Sprintf("  hosts          = [%s]", quoteList(opt.Hosts)))
	}
	if opt.ServiceArch {
		w.line(fmt.Sprintf("  arch           = [%s]", quoteList(variantArches(vs))))
	}
	w.line("  default_action = kill_process")
	if len(params) > 0 || len(p.Doc) > 0 {
		w.line("")
	}
	for _, d := range p.Doc {
		w.comment("  ", d)
	}
	if err := w.fds(p.Name, params); err != nil {
		return nil, err
	}
	for _, sc := range serviceSyscalls(vs) {
		if err := w.rules(vs, sc, len(vs) > 1); err != nil {
			return nil, err
		}
	}
	if len(p.Trailer) > 0 {
		w.line("")
		for _, d := range p.Trailer {
			w.comment("  ", d)
		}
	}
	w.line("}")
	return []byte(w.b.String()), nil
}

// serviceParams are the parameters of the variants, in order, each once.
func serviceParams(vs []Variant) []Param {
	return distinct(vs, func(p *Policy) []Param { return p.Params }, func(x Param) string { return x.Name })
}

// serviceSyscalls are the syscall names of the variants, in order, each
// once.
func serviceSyscalls(vs []Variant) []string {
	scs := distinct(vs, func(p *Policy) []Syscall { return p.Syscalls }, func(x Syscall) string { return x.Name })
	out := make([]string, len(scs))
	for i, sc := range scs {
		out[i] = sc.Name
	}
	return out
}

// distinct returns the items of each variant's policy, in order, the
// first of each name only.
func distinct[T any](vs []Variant, items func(*Policy) []T, name func(T) string) []T {
	var out []T
	seen := map[string]bool{}
	for _, v := range vs {
		for _, x := range items(v.Policy) {
			if !seen[name(x)] {
				seen[name(x)] = true
				out = append(out, x)
			}
		}
	}
	return out
}

func variantArches(vs []Variant) []string {
	var out []string
	for _, v := range vs {
		for _, a := range v.Arches {
			out = append(out, a.Name)
		}
	}
	return out
}

// VarName is the variable a parameter becomes: the parameter's name, after
// WriteOptions.VarPrefix.
func (opt WriteOptions) VarName(param string) string { return opt.VarPrefix + param }

// variables writes a variable block for each parameter used by a rule.
func (w *writer) variables(service string, vs []Variant, params []Param) {
	for _, prm := range params {
		var what string
		switch w.opt.Roles[prm.Name] {
		case RoleFd:
			what = fmt.Sprintf("The number of the fd Firedancer's policy passes as %s (fd.%s of service %s); or bind that fd block to what systemd opens and drop this variable.", prm.Name, prm.Name, service)
		case RoleVar:
			what = fmt.Sprintf("The value Firedancer's policy passes as %s (a uint) to service %s's filter.", prm.Name, service)
		default:
			continue
		}
		w.line(fmt.Sprintf("variable %q {", w.opt.VarName(prm.Name)))
		w.line("  type        = number")
		w.line(fmt.Sprintf("  description = %q", what))
		w.line("}")
		w.line("")
	}
}

// fds writes the fd blocks of the parameters.
func (w *writer) fds(policy string, params []Param) error {
	for _, prm := range params {
		if w.opt.Roles != nil {
			switch w.opt.Roles[prm.Name] {
			case RoleUnused:
				w.comment("  ", fmt.Sprintf("Parameter %s is used by no rule.", prm.Name))
			case RoleFd:
				w.line(fmt.Sprintf("  fd %q {", prm.Name))
				w.line(fmt.Sprintf("    number = var.%s", w.opt.VarName(prm.Name)))
				w.line("  }")
			}
			continue
		}
		n, ok := w.opt.Params[prm.Name]
		if !ok {
			return fmt.Errorf("policy %s: no fd number for parameter %s", policy, prm.Name)
		}
		w.line(fmt.Sprintf("  fd %q {", prm.Name))
		w.line(fmt.Sprintf("    number = %d", n))
		w.line("  }")
	}
	return nil
}

type writer struct {
	opt     WriteOptions
	arches  []*arch.Arch // of the rule being written
	syscall string       // the rule's
	b       strings.Builder
	notes   []string
}

func (w *writer) line(s string) { w.b.WriteString(s + "\n") }

// comment writes one comment line, made printable.
func (w *writer) comment(indent, text string) {
	text = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) || r == '\t' {
			return r
		}
		return '?'
	}, text)
	if text == "" {
		w.line(indent + "#")
		return
	}
	w.line(indent + "# " + text)
}

// ruleText is one variant's rule for a syscall: its comments and `when`.
type ruleText struct {
	sc     *Syscall
	notes  []string
	when   string
	arches []*arch.Arch
}

// rules writes the rules of syscall name: one when every variant that
// lists it says the same, otherwise one per group of variants that agree;
// withArch gives each its architectures.
func (w *writer) rules(vs []Variant, name string, withArch bool) error {
	var groups []*ruleText
	listed := 0
	for _, v := range vs {
		sc := v.Policy.syscall(name)
		if sc == nil {
			continue
		}
		listed++
		rt, err := w.ruleText(v, sc)
		if err != nil {
			return err
		}
		merged := false
		for _, g := range groups {
			if g.when == rt.when && strings.Join(g.notes, "\n") == strings.Join(rt.notes, "\n") {
				g.arches = append(g.arches, rt.arches...)
				merged = true
				break
			}
		}
		if !merged {
			groups = append(groups, rt)
		}
	}
	for _, g := range groups {
		rule := name
		if len(groups) > 1 {
			rule = name + "_" + g.arches[0].Name
		}
		var arches []string
		if withArch && (listed < len(vs) || len(groups) > 1) {
			for _, a := range g.arches {
				arches = append(arches, a.Name)
			}
		}
		w.emitRule(rule, g, arches)
	}
	return nil
}

// syscall returns the policy's entry for name, or nil.
func (p *Policy) syscall(name string) *Syscall {
	for i := range p.Syscalls {
		if p.Syscalls[i].Name == name {
			return &p.Syscalls[i]
		}
	}
	return nil
}

// ruleText renders one variant's rule for sc.
func (w *writer) ruleText(v Variant, sc *Syscall) (*ruleText, error) {
	w.notes, w.syscall, w.arches = nil, sc.Name, v.Arches
	rt := &ruleText{sc: sc, arches: append([]*arch.Arch(nil), v.Arches...)}
	if sc.Cond != nil {
		when, err := w.cond(sc.Cond, false)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %s: %w", v.Policy.Name, sc.Name, err)
		}
		rt.when = w.layout(sc.Cond, when)
	}
	rt.notes = w.notes
	return rt, nil
}

// emitRule writes one rule.
func (w *writer) emitRule(name string, rt *ruleText, arches []string) {
	w.line("")
	for _, d := range rt.sc.Doc {
		w.comment("  ", d)
	}
	for _, n := range rt.notes {
		w.comment("  ", n)
	}
	w.line(fmt.Sprintf("  rule %q {", name))
	w.line(fmt.Sprintf("    syscalls = [%q]", rt.sc.Name))
	if rt.when != "" {
		w.line("    when     = " + rt.when)
	}
	if len(arches) > 0 {
		w.line(fmt.Sprintf("    arch     = [%s]", quoteList(arches)))
	}
	w.line("  }")
}

// layout breaks a long condition at its top-level operator.
func (w *writer) layout(e Expr, flat string) string {
	x, ok := e.(*Logic)
	if len(flat) <= 80 || !ok || x.Op == "not" || len(x.Args) < 2 {
		return flat
	}
	if _, ok := w.sameArgEqs(x); ok {
		return flat
	}
	op := map[string]string{"and": " &&", "or": " ||"}[x.Op]
	parts := make([]string, len(x.Args))
	for i, a := range x.Args {
		s, err := w.cond(a, true)
		if err != nil {
			return flat
		}
		parts[i] = "      " + s
	}
	return "(\n" + strings.Join(parts, op+"\n") + "\n    )"
}

// cond renders e in fencer's syntax; nested is set inside && and ||,
// where another && or || takes parentheses.
func (w *writer) cond(e Expr, nested bool) (string, error) {
	switch x := e.(type) {
	case *Cmp:
		return w.cmp(x, false)
	case *Logic:
		if x.Op == "not" {
			if c, ok := x.Args[0].(*Cmp); ok {
				return w.cmp(c, true)
			}
			s, err := w.cond(x.Args[0], true)
			if y, ok := x.Args[0].(*Logic); !strings.HasPrefix(s, "contains(") && (!ok || y.Op == "not" || len(y.Args) < 2) {
				s = "(" + s + ")"
			}
			return "!" + s, err
		}
		if len(x.Args) == 1 {
			return w.cond(x.Args[0], nested)
		}
		if s, ok := w.sameArgEqs(x); ok {
			return s, nil
		}
		parts := make([]string, len(x.Args))
		for i, a := range x.Args {
			s, err := w.cond(a, true)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		s := strings.Join(parts, map[string]string{"and": " && ", "or": " || "}[x.Op])
		if nested {
			s = "(" + s + ")"
		}
		return s, nil
	}
	return "", fmt.Errorf("unknown condition %T", e)
}

// sameArgEqs renders an (or (eq (arg N) A) (eq (arg N) B) ...) as
// contains([A, B, ...], argN).
func (w *writer) sameArgEqs(x *Logic) (string, bool) {
	if x.Op != "or" || len(x.Args) < 2 {
		return "", false
	}
	arg := -1
	var vals []string
	for _, a := range x.Args {
		c, ok := a.(*Cmp)
		if !ok || c.Op != "eq" || (arg >= 0 && c.Arg != arg) {
			return "", false
		}
		arg = c.Arg
		v, err := w.value(c.Value, c.Arg)
		if err != nil {
			return "", false
		}
		vals = append(vals, v)
	}
	return fmt.Sprintf("contains([%s], arg%d)", strings.Join(vals, ", "), arg), true
}

// fencerOps spell the generator's comparisons, and negatedOps their
// negations, in fencer's syntax.
var (
	fencerOps  = map[string]string{"eq": "==", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
	negatedOps = map[string]string{"eq": "!=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
)

// cmp renders a comparison, or its negation when negate is set, on the
// side the policy wrote the argument.
func (w *writer) cmp(c *Cmp, negate bool) (string, error) {
	v, err := w.value(c.Value, c.Arg)
	if err != nil {
		return "", err
	}
	ops := fencerOps
	if negate {
		ops = negatedOps
	}
	if c.Swapped {
		return fmt.Sprintf("%s %s arg%d", v, ops[compareOps[c.Op]], c.Arg), nil
	}
	return fmt.Sprintf("arg%d %s %s", c.Arg, ops[c.Op], v), nil
}

// value renders a comparison's value with argument arg.
func (w *writer) value(v Value, arg int) (string, error) {
	switch v.Kind {
	case Number:
		return strconv.FormatUint(v.Num, 10), nil
	case ParamRef:
		return w.paramRef(v.Text), nil
	}
	var terms []*CExpr
	flattenOr(v.C, &terms)
	parts := make([]string, len(terms))
	for i, t := range terms {
		s, ok := w.term(t)
		if !ok {
			return w.number(v, arg)
		}
		parts[i] = s
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return "bitor(" + strings.Join(parts, ", ") + ")", nil
}

func flattenOr(x *CExpr, out *[]*CExpr) {
	if x.Op == '|' {
		flattenOr(x.X, out)
		flattenOr(x.Y, out)
		return
	}
	*out = append(*out, x)
}

// term renders one operand of a `|`: a name fencer knows with the value
// the policy means, a parameter, or a number with a note saying what it
// is; casts to int are dropped when they change nothing. ok is false for
// anything else, which value then writes as one number.
func (w *writer) term(t *CExpr) (string, bool) {
	for t.Op == 'c' && t.Type == cInt {
		t = t.X
	}
	switch t.Op {
	case 'n':
		if t.Num > 1<<31-1 {
			return "", false
		}
		return strconv.FormatUint(t.Num, 10), true
	case 's':
		n := structSizes[t.Name]
		w.note(fmt.Sprintf("%d is sizeof(struct %s)", n, t.Name))
		return strconv.FormatUint(n, 10), true
	case 'i':
		if w.isParam(t.Name) {
			return w.paramRef(t.Name), true
		}
		v, ok := linuxConsts[t.Name]
		if !ok || v < 0 {
			return "", false
		}
		if w.fencerKnows(t.Name, uint64(v)) {
			return t.Name, true
		}
		w.note(fmt.Sprintf("%d is %s", v, t.Name))
		return strconv.FormatInt(int64(v), 10), true
	case '-':
		if t.X.Op == 'n' && t.X.Num <= 1<<31 {
			return "-" + strconv.FormatUint(t.X.Num, 10), true
		}
	}
	return "", false
}

// number writes v as the number the generator compares argument arg
// with: its low word only where it compares 32 bits, negative when it is
// a negative C value (fencer reads -N in the argument's width).
func (w *writer) number(v Value, arg int) (string, error) {
	var param string
	v.C.names(func(n string) {
		if w.opt.Roles != nil && w.isParam(n) {
			param = n
		}
	})
	if param != "" {
		return "", fmt.Errorf("%s computes with parameter %s, which fencer cannot do before its value is known: compare with the parameter alone", v.Text, param)
	}
	cv, err := v.C.eval(w.opt.Params)
	if err != nil {
		return "", err
	}
	bits := cv.bits
	if is32, _ := argIs32(w.syscall, arg); is32 && int64(bits) != int64(int32(uint32(bits))) {
		bits = uint64(uint32(bits))
	}
	s := strconv.FormatUint(bits, 10)
	if !cv.t.unsigned && int64(bits) < 0 {
		s = strconv.FormatInt(int64(bits), 10)
	}
	w.note(fmt.Sprintf("%s is %s", s, v.Text))
	return s, nil
}

// isParam reports whether name is a parameter of the policy.
func (w *writer) isParam(name string) bool {
	if w.opt.Roles != nil {
		_, ok := w.opt.Roles[name]
		return ok
	}
	_, ok := w.opt.Params[name]
	return ok
}

// paramRef is how a condition names a parameter: fd.NAME for an fd,
// var.NAME for a variable.
func (w *writer) paramRef(name string) string {
	if w.opt.Roles != nil && w.opt.Roles[name] != RoleFd {
		return "var." + w.opt.VarName(name)
	}
	return "fd." + name
}

func (w *writer) note(s string) {
	for _, n := range w.notes {
		if n == s {
			return
		}
	}
	w.notes = append(w.notes, s)
}

// fencerKnows reports whether fencer resolves name to v on every
// architecture of the configuration.
func (w *writer) fencerKnows(name string, v uint64) bool {
	for _, a := range w.arches {
		if got, ok := a.Const(name); !ok || got != v {
			return false
		}
	}
	return len(w.arches) > 0
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
