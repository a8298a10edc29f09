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
	w := &writer{opt: opt}
	for _, h := range opt.Header {
		w.comment("", h)
	}
	if len(opt.Header) > 0 {
		w.line("")
	}
	w.line(fmt.Sprintf("service %q {", p.Name))
	w.line(fmt.Sprintf("  unit           = %q", p.Name+".service"))
	if len(opt.Hosts) > 0 {
		w.line(fmt.Sprintf("  hosts          = [%s]", quoteList(opt.Hosts)))
	}
	w.line("  default_action = kill_process")
	if len(p.Params) > 0 || len(p.Doc) > 0 {
		w.line("")
	}
	for _, d := range p.Doc {
		w.comment("  ", d)
	}
	for _, prm := range p.Params {
		n, ok := opt.Params[prm.Name]
		if !ok {
			return nil, fmt.Errorf("policy %s: no fd number for parameter %s", p.Name, prm.Name)
		}
		w.line(fmt.Sprintf("  fd %q {", prm.Name))
		w.line(fmt.Sprintf("    number = %d", n))
		w.line("  }")
	}
	for _, sc := range p.Syscalls {
		if err := w.rule(p, sc); err != nil {
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

type writer struct {
	opt     WriteOptions
	syscall string // the rule's
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

// rule writes one syscall's rule.
func (w *writer) rule(p *Policy, sc Syscall) error {
	w.notes, w.syscall = nil, sc.Name
	when := ""
	if sc.Cond != nil {
		var err error
		if when, err = w.cond(sc.Cond, false); err != nil {
			return fmt.Errorf("policy %s: %s: %w", p.Name, sc.Name, err)
		}
	}
	w.line("")
	for _, d := range sc.Doc {
		w.comment("  ", d)
	}
	for _, n := range w.notes {
		w.comment("  ", n)
	}
	w.line(fmt.Sprintf("  rule %q {", sc.Name))
	w.line(fmt.Sprintf("    syscalls = [%q]", sc.Name))
	if when != "" {
		w.line("    when     = " + w.layout(sc.Cond, when))
	}
	w.line("  }")
	return nil
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
		return "fd." + v.Text, nil
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
		if _, isParam := w.opt.Params[t.Name]; isParam {
			return "fd." + t.Name, true
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
	for _, a := range w.opt.Arches {
		if got, ok := a.Const(name); !ok || got != v {
			return false
		}
	}
	return len(w.opt.Arches) > 0
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
