package hclspec

import (
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/policy"
)

// FormatCond renders a condition in the language's own syntax, with
// parentheses only where needed: arg0 == 2 || arg0 == fd.logfile.
func FormatCond(c Cond) string {
	return formatCond(c, 0)
}

// Binding strength, loosest first.
const (
	precOr = iota + 1
	precAnd
	_
	precCompare
	precNot
)

func formatCond(c Cond, outer int) string {
	var s string
	var prec int
	switch x := c.(type) {
	case nil:
		return "<nil>"
	case BoolLit:
		return fmt.Sprint(x.V)
	case And:
		s, prec = joinConds(x.Xs, " && ", precAnd), precAnd
	case Or:
		s, prec = joinConds(x.Xs, " || ", precOr), precOr
	case Not:
		return "!" + formatCond(x.X, precNot)
	case Compare:
		s, prec = fmt.Sprintf("%s %s %s", formatArg(x.Arg, x.Mask), x.Op, FormatValue(x.V)), precCompare
	case Contains:
		items := make([]string, len(x.List))
		for i, v := range x.List {
			items[i] = FormatValue(v)
		}
		return fmt.Sprintf("contains([%s], %s)", strings.Join(items, ", "), formatArg(x.Arg, x.Mask))
	case HasBits:
		return fmt.Sprintf("has_bits(arg%d, %s)", x.Arg, FormatValue(x.Mask))
	default:
		return fmt.Sprintf("<%T>", c)
	}
	if prec < outer {
		return "(" + s + ")"
	}
	return s
}

func joinConds(xs []Cond, op string, prec int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = formatCond(x, prec+1)
	}
	return strings.Join(parts, op)
}

func formatArg(arg int, mask Value) string {
	if mask == nil {
		return fmt.Sprintf("arg%d", arg)
	}
	return fmt.Sprintf("masked(arg%d, %s)", arg, FormatValue(mask))
}

// FormatValue renders a value as written: 2, -1, SOCK_CLOEXEC,
// fd.logfile, bitor(A, B).
func FormatValue(v Value) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case Number:
		if x.Neg {
			return fmt.Sprintf("-%d", x.Abs)
		}
		return fmt.Sprint(x.Abs)
	case ConstRef:
		return x.Name
	case FdRef:
		return "fd." + x.Name
	case SizeOf:
		return "sizeof(" + x.Type + ")"
	case BitOr:
		parts := make([]string, len(x.Xs))
		for i, y := range x.Xs {
			parts[i] = FormatValue(y)
		}
		return "bitor(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("<%T>", v)
}

// String spells the action as written: kill_process, errno(EPERM).
func (a ActionSpec) String() string {
	name := actionName(a.Kind)
	if a.Errno != nil {
		return fmt.Sprintf("%s(%s)", name, FormatValue(a.Errno))
	}
	return name
}

func actionName(k policy.ActionKind) string {
	switch k {
	case policy.Errno:
		return "errno"
	case policy.ExecOnce:
		return execOnceName
	}
	for name, kind := range actionKinds {
		if kind == k {
			return name
		}
	}
	return fmt.Sprintf("action(%d)", k)
}
