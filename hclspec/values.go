package hclspec

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// valueScope is what a value in a condition or a test may name.
type valueScope struct {
	ctx *hcl.EvalContext
	// fds are the fd names of the service; fd.NAME must be one of them.
	fds []string
	// what names the place for messages: "a condition", "a test argument".
	what string
	// anyFd accepts every fd.NAME (a test of an unknown service, already
	// reported).
	anyFd bool
}

func (sc *valueScope) hasFd(name string) bool {
	if sc.anyFd {
		return true
	}
	for _, n := range sc.fds {
		if n == name {
			return true
		}
	}
	return false
}

// condFuncs are every function of the condition language.
var condFuncs = []string{"contains", "masked", "has_bits", "bitor", "parseint", "sizeof"}

// argRoots are the root names a lower-case name in a condition may have.
var argRoots = []string{"arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "fd", "var", "local"}

// unparen strips parentheses.
func unparen(x hclsyntax.Expression) hclsyntax.Expression {
	for {
		p, ok := x.(*hclsyntax.ParenthesesExpr)
		if !ok {
			return x
		}
		x = p.Expression
	}
}

// argName reports whether x is argN (any N) and returns N, or -1 when
// the digits do not make a number.
func argName(x hclsyntax.Expression) (int, bool) {
	t, ok := unparen(x).(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) != 1 {
		return 0, false
	}
	digits, ok := strings.CutPrefix(t.Traversal.RootName(), "arg")
	if !ok || digits == "" {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1000 {
			n = n*10 + int(c-'0')
		}
	}
	return n, true
}

// readArg reads argN, reporting N > 5; ok is false when x is not an
// argument or a bad one.
func (l *loader) readArg(x hclsyntax.Expression) (int, bool) {
	n, isArg := argName(x)
	if !isArg {
		return 0, false
	}
	if n > 5 {
		l.add(errorAt(unparen(x).Range(), "No such argument",
			fmt.Sprintf("A syscall has six arguments, arg0 to arg5; there is no %s.", unparen(x).(*hclsyntax.ScopeTraversalExpr).Traversal.RootName())))
		return 0, false
	}
	return n, true
}

// mentionsArg reports whether x refers to an argument anywhere.
func mentionsArg(x hclsyntax.Expression) bool {
	for _, t := range x.Variables() {
		if _, ok := argName(&hclsyntax.ScopeTraversalExpr{Traversal: t[:1]}); ok {
			return true
		}
	}
	return false
}

// readValue reads a number-valued operand: a number, -number, a constant
// name, fd.NAME, var.X or local.X, bitor(...) or parseint("ff", 16).
// It returns nil after reporting a problem.
func (l *loader) readValue(x hclsyntax.Expression, sc *valueScope) Value {
	switch e := x.(type) {
	case *hclsyntax.ParenthesesExpr:
		return l.readValue(e.Expression, sc)
	case *hclsyntax.LiteralValueExpr:
		return l.literalValue(e.Val, e.SrcRange, false)
	case *hclsyntax.UnaryOpExpr:
		if e.Op == hclsyntax.OpNegate {
			if lit, ok := unparen(e.Val).(*hclsyntax.LiteralValueExpr); ok {
				return l.literalValue(lit.Val, e.SrcRange, true)
			}
			if mentionsArg(e.Val) {
				l.add(errorAt(e.SrcRange, "Arithmetic on an argument",
					"A condition compares an argument as the kernel passed it; it cannot negate it. Compare the argument itself with a value."))
				return nil
			}
			l.add(errorAt(e.SrcRange, "Unsupported negation",
				"Only a number can be negated here (-1). Compute other values in a local value and write local.NAME."))
			return nil
		}
		l.add(errorAt(e.SrcRange, "Condition used as a value",
			fmt.Sprintf("A number is expected in %s, not a condition.", sc.what)))
		return nil
	case *hclsyntax.ScopeTraversalExpr:
		return l.traversalValue(e, sc)
	case *hclsyntax.FunctionCallExpr:
		return l.callValue(e, sc)
	case *hclsyntax.BinaryOpExpr:
		return l.binaryAsValue(e, sc)
	case *hclsyntax.TemplateExpr, *hclsyntax.TemplateWrapExpr, *hclsyntax.TemplateJoinExpr:
		detail := "Conditions compare numbers: write numbers, constants (SOCK_CLOEXEC) and fd.NAME without quotes."
		if t, ok := x.(*hclsyntax.TemplateExpr); ok && t.IsStringLiteral() {
			if v, diags := t.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().Equals(cty.String) {
				detail += stringHint(v.AsString())
			}
		}
		l.add(errorAt(x.Range(), "String used as a number", detail))
		return nil
	}
	l.unsupported(x, sc)
	return nil
}

// stringHint says how to write a quoted number without quotes.
func stringHint(s string) string {
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "0x") && len(s) > 2:
		return fmt.Sprintf(" HCL numbers are decimal: write %s as parseint(%q, 16).", s, s[2:])
	case strings.HasPrefix(lower, "0o") && len(s) > 2:
		return fmt.Sprintf(" HCL numbers are decimal: write %s as parseint(%q, 8).", s, s[2:])
	case isUpperName(s):
		return fmt.Sprintf(" Write the constant without quotes: %s.", s)
	}
	return ""
}

// unsupported reports an expression that has no place in a condition.
func (l *loader) unsupported(x hclsyntax.Expression, sc *valueScope) {
	var summary, detail string
	switch x.(type) {
	case *hclsyntax.ConditionalExpr:
		summary, detail = "Conditional expression in "+sc.what,
			"c ? a : b cannot be read as a seccomp condition: write it with && and ||, as (c && a) || (!c && b)."
	case *hclsyntax.ForExpr:
		summary, detail = "for expression in "+sc.what,
			"A for expression cannot be read as a seccomp condition: list the values, as contains([1, 2, 3], arg0)."
	case *hclsyntax.SplatExpr:
		summary, detail = "Splat expression in "+sc.what,
			"A splat expression cannot be read as a seccomp condition: list the values, or compute them in a local value."
	case *hclsyntax.IndexExpr, *hclsyntax.RelativeTraversalExpr:
		summary, detail = "Index in "+sc.what,
			"Only var.NAME and local.NAME may be indexed (local.fds[0]); compute other values in a local value."
	case *hclsyntax.TupleConsExpr:
		summary, detail = "List used as a number",
			"A list is only accepted as the first argument of contains(LIST, argN)."
	case *hclsyntax.ObjectConsExpr:
		summary, detail = "Object in "+sc.what, "A number is expected here."
	default:
		summary, detail = "Unsupported expression in "+sc.what,
			"Write a number, a constant (SOCK_CLOEXEC), fd.NAME, var.NAME, local.NAME or bitor(...)."
	}
	l.add(errorAt(x.Range(), summary, detail))
}

// binaryAsValue reports a binary operation where a value was expected.
func (l *loader) binaryAsValue(e *hclsyntax.BinaryOpExpr, sc *valueScope) Value {
	if _, isCmp := compareOps[e.Op]; isCmp || e.Op == hclsyntax.OpLogicalAnd || e.Op == hclsyntax.OpLogicalOr {
		l.add(errorAt(e.SrcRange, "Condition used as a value",
			fmt.Sprintf("A number is expected in %s, not a condition.", sc.what)))
		return nil
	}
	if mentionsArg(e) {
		l.add(errorAt(e.SrcRange, "Arithmetic on an argument",
			"A condition compares an argument as the kernel passed it; it cannot compute with it. "+
				"Compare the argument itself (arg0 == 4, not arg0 + 1 == 5), or test bits with masked(argN, MASK) or has_bits(argN, MASK)."))
		return nil
	}
	l.add(errorAt(e.SrcRange, "Arithmetic in "+sc.what,
		"Values in a condition are not computed: compute this in a local value (locals { x = ... }) and write local.x, or use bitor(...) to combine flags."))
	return nil
}

// literalValue reads a literal number.
func (l *loader) literalValue(v cty.Value, rng hcl.Range, neg bool) Value {
	if v.IsNull() {
		l.add(errorAt(rng, "Null used as a number", "A number is expected here."))
		return nil
	}
	if v.Type().Equals(cty.Bool) {
		word := "false"
		if v.IsKnown() && v.True() {
			word = "true"
		}
		l.add(errorAt(rng, "Boolean used as a number",
			fmt.Sprintf("%s is a condition, not a number; write 1 or 0 instead.", word)))
		return nil
	}
	if !v.Type().Equals(cty.Number) || !v.IsKnown() {
		l.add(errorAt(rng, "Invalid value", "A number is expected here."))
		return nil
	}
	return l.number(v.AsBigFloat(), neg, rng)
}

var maxUint64 = new(big.Float).SetUint64(math.MaxUint64)

// number makes a Number of a whole value within 64 bits.
func (l *loader) number(bf *big.Float, neg bool, rng hcl.Range) Value {
	if !bf.IsInt() {
		l.add(errorAt(rng, "Not a whole number",
			fmt.Sprintf("Syscall arguments are whole numbers; %s is not.", bf.Text('g', 10))))
		return nil
	}
	if bf.Sign() < 0 {
		neg = !neg
		bf = new(big.Float).Neg(bf)
	}
	if bf.Cmp(maxUint64) > 0 || neg && bf.Cmp(new(big.Float).SetUint64(1<<63)) > 0 {
		l.add(errorAt(rng, "Number out of range",
			"Syscall arguments are 64 bits wide: numbers range from -9223372036854775808 to 18446744073709551615."))
		return nil
	}
	abs, _ := bf.Uint64()
	if abs == 0 {
		neg = false
	}
	return Number{Neg: neg, Abs: abs, Rng: rng}
}

// isUpperName reports whether s is spelled as a constant: SOCK_CLOEXEC,
// the kernel's __WALL, AF_DECnet: leading underscores, then a capital
// letter, then letters, digits and underscores.
func isUpperName(s string) bool {
	s = strings.TrimLeft(s, "_")
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// traversalValue reads a constant, fd.NAME, var.X or local.X.
func (l *loader) traversalValue(e *hclsyntax.ScopeTraversalExpr, sc *valueScope) Value {
	t := e.Traversal
	root := t.RootName()
	switch {
	case root == "var" || root == "local":
		val, ok := l.evalTraversal(e, sc)
		if !ok {
			return nil
		}
		conv, err := convertNumber(val)
		if err != nil {
			l.add(errorAt(e.SrcRange, "Invalid value in "+sc.what,
				fmt.Sprintf("%s is %s; a number is expected here.", traversalString(t), describe(val))))
			return nil
		}
		return l.number(conv.AsBigFloat(), false, e.SrcRange)
	case root == "fd":
		return l.fdRef(e, sc)
	}
	if _, isArg := argName(e); isArg {
		if _, ok := l.readArg(e); ok {
			l.add(errorAt(e.SrcRange, "Argument used as a value",
				fmt.Sprintf("%s cannot be used here: an argument is only compared (%s == 1), tested (has_bits(%s, 1)) or searched for (contains([1, 2], %s)).",
					root, root, root, root)))
		}
		return nil
	}
	if len(t) > 1 {
		l.add(errorAt(e.SrcRange, "Invalid reference",
			fmt.Sprintf("%s is not something a condition can name: write a constant (SOCK_CLOEXEC), fd.NAME, var.NAME or local.NAME.", traversalString(t))))
		return nil
	}
	if isUpperName(root) {
		return ConstRef{Name: root, Rng: e.SrcRange}
	}
	detail := fmt.Sprintf("%s is not a name a condition knows.", root)
	if up := strings.ToUpper(root); isUpperName(up) && spelling.Nearest(root, argRoots) == "" {
		detail += fmt.Sprintf(" Constants are written in upper case: did you mean %s?", up)
	} else {
		detail += " Write an argument (arg0 to arg5), a constant in upper case, fd.NAME, var.NAME or local.NAME." + spelling.DidYouMean(root, argRoots)
	}
	l.add(errorAt(e.SrcRange, "Unknown name", detail))
	return nil
}

// evalTraversal evaluates var.X... or local.X... in the scope's context.
func (l *loader) evalTraversal(e *hclsyntax.ScopeTraversalExpr, sc *valueScope) (cty.Value, bool) {
	val, ok := l.eval(e, sc.ctx)
	if !ok {
		return cty.NilVal, false
	}
	if val.IsNull() {
		l.add(errorAt(e.SrcRange, "Null value in "+sc.what,
			fmt.Sprintf("%s is null; a number is expected here.", traversalString(e.Traversal))))
		return cty.NilVal, false
	}
	return val, true
}

// describe names a value's kind for messages.
func describe(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	ty := v.Type()
	if ty.Equals(cty.String) {
		return fmt.Sprintf("the string %q", v.AsString())
	}
	return "a " + ty.FriendlyName()
}

// traversalString spells a traversal as written: var.x, local.a[0].
func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.IsKnown() && !s.Key.IsNull() && s.Key.Type().Equals(cty.String) {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				b.WriteString("[...]")
			}
		default:
			b.WriteString("[...]")
		}
	}
	return b.String()
}

// fdRef reads fd.NAME.
func (l *loader) fdRef(e *hclsyntax.ScopeTraversalExpr, sc *valueScope) Value {
	t := e.Traversal
	attr, ok := (hcl.TraverseAttr{}), false
	if len(t) == 2 {
		attr, ok = t[1].(hcl.TraverseAttr)
	}
	if !ok {
		l.add(errorAt(e.SrcRange, "Invalid fd reference", "An fd is named as fd.NAME, after an fd \"NAME\" block of the service."))
		return nil
	}
	if sc.fds == nil && !sc.anyFd {
		l.add(errorAt(e.SrcRange, "Unknown fd",
			fmt.Sprintf("There is no fd named %q here: fds are declared with fd blocks in a service.", attr.Name)))
		return nil
	}
	if !sc.hasFd(attr.Name) {
		detail := fmt.Sprintf("The service has no fd named %q.", attr.Name)
		if s := spelling.DidYouMean(attr.Name, sc.fds); s != "" {
			detail += s
		} else if len(sc.fds) == 0 {
			detail += " It declares no fd: add an fd \"" + attr.Name + "\" block to the service."
		} else {
			detail += " Its fds are " + quotedList(sc.fds) + "."
		}
		l.add(errorAt(e.SrcRange, "Unknown fd", detail))
		return nil
	}
	return FdRef{Name: attr.Name, Rng: e.SrcRange}
}

// callValue reads bitor(...) or parseint(...) as a value.
func (l *loader) callValue(e *hclsyntax.FunctionCallExpr, sc *valueScope) Value {
	if e.ExpandFinal {
		l.add(errorAt(e.Range(), "Expanded arguments in "+sc.what,
			"Function arguments cannot be expanded with ... here: list them."))
		return nil
	}
	switch e.Name {
	case "bitor":
		if len(e.Args) == 0 {
			l.add(errorAt(e.Range(), "Wrong number of arguments",
				"bitor takes one or more values: bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)."))
			return nil
		}
		out := BitOr{Rng: e.Range()}
		ok := true
		for _, a := range e.Args {
			v := l.readValue(a, sc)
			if v == nil {
				ok = false
				continue
			}
			out.Xs = append(out.Xs, v)
		}
		if !ok {
			return nil
		}
		return out
	case "parseint":
		if len(e.Args) != 2 {
			l.add(errorAt(e.Range(), "Wrong number of arguments",
				"parseint takes a string and a base: parseint(\"80800\", 16)."))
			return nil
		}
		if mentionsArg(e) {
			l.add(errorAt(e.Range(), "Argument used as a value", "parseint reads a number written in a string, not an argument."))
			return nil
		}
		val, ok := l.eval(e, sc.ctx)
		if !ok {
			return nil
		}
		return l.literalValue(val, e.Range(), false)
	case "sizeof":
		return l.sizeofValue(e)
	case "masked", "has_bits", "contains":
		what := map[string]string{
			"masked":   "masked(argN, MASK) is compared with a value (masked(arg1, 3) == 2), not used as one.",
			"has_bits": "has_bits(argN, MASK) is a condition, not a value.",
			"contains": "contains(LIST, argN) is a condition, not a value.",
		}[e.Name]
		l.add(errorAt(e.Range(), e.Name+" used as a value", what))
		return nil
	}
	l.unknownFunction(e)
	return nil
}

// sizeofValue reads sizeof(TYPE): TYPE a C type whose size x/sys knows
// (arch.StructNames), written without "struct".
func (l *loader) sizeofValue(e *hclsyntax.FunctionCallExpr) Value {
	usage := "sizeof takes the name of a C type, without \"struct\" or quotes: sizeof(sockaddr_in)."
	if len(e.Args) != 1 {
		l.add(errorAt(e.Range(), "Wrong number of arguments", usage))
		return nil
	}
	t, ok := e.Args[0].(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) != 1 {
		if hint := stringTypeHint(e.Args[0]); hint != "" {
			usage = `sizeof takes the name of a C type, without "struct" or quotes.` + hint
		}
		l.add(errorAt(e.Args[0].Range(), "Invalid sizeof", usage))
		return nil
	}
	name := t.Traversal.RootName()
	if !slices.Contains(arch.StructNames(), name) {
		l.add(errorAt(t.SrcRange, "Unknown struct",
			fmt.Sprintf("fencer knows the size of no C type named %q; it knows those golang.org/x/sys/unix has a Sizeof constant for (docs/language.md lists them).%s",
				name, spelling.DidYouMean(name, arch.StructNames()))))
		return nil
	}
	return SizeOf{Type: name, Rng: e.Range()}
}

// stringTypeHint says how to write sizeof("struct sockaddr_in").
func stringTypeHint(x hclsyntax.Expression) string {
	t, ok := x.(*hclsyntax.TemplateExpr)
	if !ok || !t.IsStringLiteral() {
		return ""
	}
	v, diags := t.Value(nil)
	if diags.HasErrors() || !v.Type().Equals(cty.String) {
		return ""
	}
	name := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v.AsString()), "struct "))
	return fmt.Sprintf(" Write sizeof(%s).", name)
}

// unknownFunction reports a call of a function the condition language
// does not have.
func (l *loader) unknownFunction(e *hclsyntax.FunctionCallExpr) {
	l.add(errorAt(e.NameRange, "Unknown function",
		fmt.Sprintf("There is no function %q in a condition: the functions are contains(LIST, argN), masked(argN, MASK), "+
			"has_bits(argN, MASK), bitor(A, B, ...), parseint(\"ff\", 16) and sizeof(TYPE).%s", e.Name, spelling.DidYouMean(e.Name, condFuncs))))
}

// convertNumber converts a known value to a non-null number.
func convertNumber(v cty.Value) (cty.Value, error) {
	if v.IsNull() {
		return cty.NilVal, fmt.Errorf("null is not a number")
	}
	conv, err := convert.Convert(v, cty.Number)
	if err != nil {
		return cty.NilVal, err
	}
	if conv.IsNull() {
		return cty.NilVal, fmt.Errorf("null is not a number")
	}
	return conv, nil
}
