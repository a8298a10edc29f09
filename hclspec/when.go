package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/fencer-dev/fencer/internal/policy"
)

// compareOps maps HCL's comparison operators to the policy's.
var compareOps = map[*hclsyntax.Operation]policy.Op{
	hclsyntax.OpEqual:              policy.EQ,
	hclsyntax.OpNotEqual:           policy.NE,
	hclsyntax.OpLessThan:           policy.LT,
	hclsyntax.OpLessThanOrEqual:    policy.LE,
	hclsyntax.OpGreaterThan:        policy.GT,
	hclsyntax.OpGreaterThanOrEqual: policy.GE,
}

// flipped is the operator with its operands swapped: 5 > arg1 is arg1 < 5.
var flipped = map[policy.Op]policy.Op{
	policy.EQ: policy.EQ, policy.NE: policy.NE,
	policy.LT: policy.GT, policy.GT: policy.LT,
	policy.LE: policy.GE, policy.GE: policy.LE,
}

// readWhen reads a `when` attribute as a condition. The expression is read
// as syntax, never evaluated as a whole; nil means it had errors, all
// reported.
func (l *loader) readWhen(expr hcl.Expression, sc *valueScope) Cond {
	x, ok := l.syntax(expr)
	if !ok {
		return nil
	}
	return l.cond(x, sc)
}

// cond reads one condition.
func (l *loader) cond(x hclsyntax.Expression, sc *valueScope) Cond {
	switch e := x.(type) {
	case *hclsyntax.ParenthesesExpr:
		return l.cond(e.Expression, sc)
	case *hclsyntax.BinaryOpExpr:
		switch e.Op {
		case hclsyntax.OpLogicalAnd, hclsyntax.OpLogicalOr:
			return l.logical(e, sc)
		}
		if op, ok := compareOps[e.Op]; ok {
			return l.compare(e, op, sc)
		}
		l.binaryAsValue(e, sc)
		return nil
	case *hclsyntax.UnaryOpExpr:
		if e.Op == hclsyntax.OpLogicalNot {
			inner := l.cond(e.Val, sc)
			if inner == nil {
				return nil
			}
			return Not{X: inner, Rng: e.SrcRange}
		}
		l.add(errorAt(e.SrcRange, "Number used as a condition",
			"A condition is a comparison, such as arg0 == -1, not a number."))
		return nil
	case *hclsyntax.LiteralValueExpr:
		if e.Val.Type().Equals(cty.Bool) && e.Val.IsKnown() && !e.Val.IsNull() {
			return BoolLit{V: e.Val.True(), Rng: e.SrcRange}
		}
		l.add(errorAt(e.SrcRange, "Value used as a condition",
			"A condition is a comparison, such as arg0 == 2, or true or false."))
		return nil
	case *hclsyntax.ScopeTraversalExpr:
		return l.traversalCond(e, sc)
	case *hclsyntax.FunctionCallExpr:
		return l.callCond(e, sc)
	case *hclsyntax.TemplateExpr, *hclsyntax.TemplateWrapExpr, *hclsyntax.TemplateJoinExpr:
		l.add(errorAt(x.Range(), "String used as a condition",
			"when is an expression, not a string: write when = arg0 == 2, without quotes."))
		return nil
	}
	l.unsupported(x, sc)
	return nil
}

// logical reads && and ||, flattening nested operations of the same kind.
func (l *loader) logical(e *hclsyntax.BinaryOpExpr, sc *valueScope) Cond {
	var xs []Cond
	ok := true
	var walk func(x hclsyntax.Expression)
	walk = func(x hclsyntax.Expression) {
		if b, same := unparen(x).(*hclsyntax.BinaryOpExpr); same && b.Op == e.Op {
			walk(b.LHS)
			walk(b.RHS)
			return
		}
		c := l.cond(x, sc)
		if c == nil {
			ok = false
			return
		}
		xs = append(xs, c)
	}
	walk(e)
	if !ok {
		return nil
	}
	if e.Op == hclsyntax.OpLogicalAnd {
		return And{Xs: xs, Rng: e.SrcRange}
	}
	return Or{Xs: xs, Rng: e.SrcRange}
}

// argSide is argN or masked(argN, MASK), the argument side of a comparison.
type argSide struct {
	arg  int
	mask Value
}

// isArgSide reports whether x is written as an argument side.
func isArgSide(x hclsyntax.Expression) bool {
	if _, ok := argName(x); ok {
		return true
	}
	call, ok := unparen(x).(*hclsyntax.FunctionCallExpr)
	return ok && call.Name == "masked"
}

// readArgSide reads argN or masked(argN, MASK); nil after an error.
func (l *loader) readArgSide(x hclsyntax.Expression, sc *valueScope) *argSide {
	if n, ok := l.readArg(x); ok {
		return &argSide{arg: n}
	}
	if _, isArg := argName(x); isArg {
		return nil // reported by readArg
	}
	call, ok := unparen(x).(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "masked" {
		return nil
	}
	if len(call.Args) != 2 || call.ExpandFinal {
		l.add(errorAt(call.Range(), "Wrong number of arguments",
			"masked takes an argument and a mask: masked(arg1, 0x3) is written masked(arg1, 3)."))
		return nil
	}
	n, ok := l.readArg(call.Args[0])
	if !ok {
		if _, isArg := argName(call.Args[0]); !isArg {
			l.add(errorAt(call.Args[0].Range(), "Argument expected",
				"The first argument of masked is arg0 to arg5: masked(arg1, 3)."))
		}
		return nil
	}
	mask := l.readValue(call.Args[1], sc)
	if mask == nil {
		return nil
	}
	return &argSide{arg: n, mask: mask}
}

// compare reads `side OP value` with the argument on either side.
func (l *loader) compare(e *hclsyntax.BinaryOpExpr, op policy.Op, sc *valueScope) Cond {
	lhsArg, rhsArg := isArgSide(e.LHS), isArgSide(e.RHS)
	switch {
	case lhsArg && rhsArg:
		l.add(errorAt(e.SrcRange, "Comparison of two arguments",
			"seccomp compares an argument with a value fixed when the policy is built; it cannot compare two arguments. "+
				"Compare each with a value instead: arg0 == 3 && arg1 == 3."))
		return nil
	case !lhsArg && !rhsArg:
		a, b := l.readValue(e.LHS, sc), l.readValue(e.RHS, sc)
		if a != nil && b != nil {
			l.add(errorAt(e.SrcRange, "Comparison without an argument",
				"A comparison in a condition has an argument on one side: arg0 == 2, or masked(arg1, 3) == 2."))
		}
		return nil
	}
	argX, valX := e.LHS, e.RHS
	if rhsArg {
		argX, valX = e.RHS, e.LHS
		op = flipped[op]
	}
	side := l.readArgSide(argX, sc)
	v := l.readValue(valX, sc)
	if side == nil || v == nil {
		return nil
	}
	return Compare{Arg: side.arg, Mask: side.mask, Op: op, V: v, Rng: e.SrcRange}
}

// traversalCond reads a name used as a whole condition: a bool variable or
// local; anything else is a mistake.
func (l *loader) traversalCond(e *hclsyntax.ScopeTraversalExpr, sc *valueScope) Cond {
	if n, isArg := argName(e); isArg {
		if _, ok := l.readArg(e); ok {
			l.add(errorAt(e.SrcRange, "Argument used as a condition",
				fmt.Sprintf("arg%d is a number, not a condition: compare it, as arg%d != 0.", n, n)))
		}
		return nil
	}
	switch e.Traversal.RootName() {
	case "var", "local":
		val, ok := l.evalTraversal(e, sc)
		if !ok {
			return nil
		}
		if !val.Type().Equals(cty.Bool) {
			l.add(errorAt(e.SrcRange, "Value used as a condition",
				fmt.Sprintf("%s is %s; a condition needs a comparison such as arg0 == %s, or a bool.",
					traversalString(e.Traversal), describe(val), traversalString(e.Traversal))))
			return nil
		}
		return BoolLit{V: val.True(), Rng: e.SrcRange}
	}
	if v := l.readValue(e, sc); v != nil {
		l.add(errorAt(e.SrcRange, "Value used as a condition",
			"A condition is a comparison, such as arg0 == "+traversalString(e.Traversal)+"."))
	}
	return nil
}

// callCond reads contains, has_bits, and reports other calls.
func (l *loader) callCond(e *hclsyntax.FunctionCallExpr, sc *valueScope) Cond {
	switch e.Name {
	case "contains":
		return l.containsCond(e, sc)
	case "has_bits":
		if len(e.Args) != 2 || e.ExpandFinal {
			l.add(errorAt(e.Range(), "Wrong number of arguments",
				"has_bits takes an argument and a mask: has_bits(arg2, PROT_EXEC)."))
			return nil
		}
		n, ok := l.readArg(e.Args[0])
		if !ok {
			if _, isArg := argName(e.Args[0]); !isArg {
				l.add(errorAt(e.Args[0].Range(), "Argument expected",
					"The first argument of has_bits is arg0 to arg5: has_bits(arg2, PROT_EXEC)."))
			}
			return nil
		}
		mask := l.readValue(e.Args[1], sc)
		if mask == nil {
			return nil
		}
		return HasBits{Arg: n, Mask: mask, Rng: e.Range()}
	case "masked":
		l.add(errorAt(e.Range(), "masked used as a condition",
			"masked(argN, MASK) is a value: compare it, as masked(arg1, 3) == 2, or use has_bits(argN, MASK)."))
		return nil
	case "bitor", "parseint":
		l.add(errorAt(e.Range(), "Value used as a condition",
			fmt.Sprintf("%s(...) is a value: compare an argument with it, as arg3 == %s(...).", e.Name, e.Name)))
		return nil
	}
	l.unknownFunction(e)
	return nil
}

// containsCond reads contains(LIST, argN) or contains(LIST, masked(argN, M)).
func (l *loader) containsCond(e *hclsyntax.FunctionCallExpr, sc *valueScope) Cond {
	if len(e.Args) != 2 || e.ExpandFinal {
		l.add(errorAt(e.Range(), "Wrong number of arguments",
			"contains takes a list and an argument: contains([2, fd.logfile], arg0)."))
		return nil
	}
	listX, needleX := e.Args[0], e.Args[1]
	if isArgSide(listX) && !isArgSide(needleX) {
		l.add(errorAt(e.Range(), "Arguments of contains in the wrong order",
			"The list comes first and the argument second: contains([1, 2], arg0)."))
		return nil
	}
	if !isArgSide(needleX) {
		l.add(errorAt(needleX.Range(), "Argument expected",
			"The second argument of contains is arg0 to arg5 or masked(argN, MASK): contains([1, 2], arg0)."))
		return nil
	}
	side := l.readArgSide(needleX, sc)
	list, ok := l.readList(listX, sc)
	if side == nil || !ok {
		return nil
	}
	return Contains{Arg: side.arg, Mask: side.mask, List: list, Rng: e.Range()}
}

// readList reads the list of contains: a list literal of values, or a
// var./local. reference to a list of numbers.
func (l *loader) readList(x hclsyntax.Expression, sc *valueScope) ([]Value, bool) {
	switch e := unparen(x).(type) {
	case *hclsyntax.TupleConsExpr:
		out := make([]Value, 0, len(e.Exprs))
		ok := true
		for _, item := range e.Exprs {
			v := l.readValue(item, sc)
			if v == nil {
				ok = false
				continue
			}
			out = append(out, v)
		}
		return out, ok
	case *hclsyntax.ScopeTraversalExpr:
		if root := e.Traversal.RootName(); root == "var" || root == "local" {
			return l.listTraversal(e, sc)
		}
	case *hclsyntax.ForExpr, *hclsyntax.SplatExpr, *hclsyntax.ConditionalExpr:
		l.unsupported(e, sc)
		return nil, false
	}
	l.add(errorAt(x.Range(), "List expected",
		"The first argument of contains is a list, [2, fd.logfile], or var.NAME or local.NAME holding a list of numbers."))
	return nil, false
}

// listTraversal evaluates var.X or local.X as a list of numbers.
func (l *loader) listTraversal(e *hclsyntax.ScopeTraversalExpr, sc *valueScope) ([]Value, bool) {
	val, ok := l.evalTraversal(e, sc)
	if !ok {
		return nil, false
	}
	ty := val.Type()
	if !(ty.IsListType() || ty.IsSetType() || ty.IsTupleType()) {
		l.add(errorAt(e.SrcRange, "List expected",
			fmt.Sprintf("%s is %s; a list of numbers is expected here.", traversalString(e.Traversal), describe(val))))
		return nil, false
	}
	var out []Value
	for it := val.ElementIterator(); it.Next(); {
		_, item := it.Element()
		if item.IsNull() || !item.Type().Equals(cty.Number) {
			if conv, err := convertNumber(item); err == nil {
				item = conv
			} else {
				l.add(errorAt(e.SrcRange, "List of numbers expected",
					fmt.Sprintf("%s holds %s; a list of numbers is expected here.", traversalString(e.Traversal), describe(item))))
				return nil, false
			}
		}
		v := l.number(item.AsBigFloat(), false, e.SrcRange)
		if v == nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}
