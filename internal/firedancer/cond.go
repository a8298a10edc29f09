package firedancer

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// condReader turns s-expressions into conditions for one syscall.
type condReader struct {
	s       *source
	params  map[string]bool
	syscall string
	diags   hcl.Diagnostics
}

func (c *condReader) fail(rng hcl.Range, summary, detail string) {
	c.diags = append(c.diags, c.s.errorAt(rng, summary, detail))
}

// compareOps are the generator's comparisons and their mirror images, for
// a value written before the argument.
var compareOps = map[string]string{"eq": "eq", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// cond reads a condition; nil after a diagnostic.
func (c *condReader) cond(n *node) Expr {
	if !n.isList || len(n.list) == 0 {
		c.fail(n.rng, "Not a condition",
			fmt.Sprintf("%s is not a condition: write a list such as (eq (arg 0) 2), (and ...), (or ...) or (not ...).", n))
		return nil
	}
	head := n.list[0]
	op := head.atom
	if head.isList || head.quoted {
		op = ""
	}
	switch op {
	case "and", "or":
		if len(n.list) < 2 {
			c.fail(n.rng, "Missing operands", fmt.Sprintf("(%s ...) takes at least one condition.", op))
			return nil
		}
		x := &Logic{Op: op, Rng: n.rng}
		for _, a := range n.list[1:] {
			x.Args = append(x.Args, c.cond(a))
		}
		return x
	case "not":
		if len(n.list) != 2 {
			c.fail(n.rng, "Wrong number of operands", "(not ...) takes exactly one condition.")
			return nil
		}
		return &Logic{Op: op, Args: []Expr{c.cond(n.list[1])}, Rng: n.rng}
	case "eq", "<", "<=", ">", ">=":
		return c.compare(n, op)
	case "arg":
		c.fail(n.rng, "Not a condition", "(arg N) is an argument, not a condition: compare it, as in (eq (arg 0) 2).")
		return nil
	}
	c.fail(head.rng, "Unknown operator",
		fmt.Sprintf("%s is not an operator of Firedancer's policy language: it has and, or, not, eq, <, <=, > and >=.", head))
	return nil
}

// compare reads (OP A B), one side (arg N) and the other a value.
func (c *condReader) compare(n *node, op string) Expr {
	if len(n.list) != 3 {
		c.fail(n.rng, "Wrong number of operands", fmt.Sprintf("(%s ...) compares two operands: (arg N) and a value.", op))
		return nil
	}
	a, b := n.list[1], n.list[2]
	x := &Cmp{Op: op, Rng: n.rng}
	switch {
	case isArgNode(a) && !isArgNode(b):
	case isArgNode(b) && !isArgNode(a):
		a, b = b, a
		x.Op, x.Swapped = compareOps[op], true
	default:
		c.fail(n.rng, "Unsupported comparison",
			fmt.Sprintf("%s must compare one argument, (arg N), with a value.", n))
		return nil
	}
	x.Arg = c.argNumber(a)
	x.Value = c.value(b)
	if x.Arg >= 0 {
		if _, ok := argIs32(c.syscall, x.Arg); !ok {
			c.fail(a.rng, "Argument width unknown",
				fmt.Sprintf("Firedancer's generator has no type for argument %d of %s in its table of prototypes, so it cannot compare it.", x.Arg, c.syscall))
		}
	}
	return x
}

func isArgNode(n *node) bool {
	return n.isList && len(n.list) == 2 && !n.list[0].isList && !n.list[0].quoted && n.list[0].atom == "arg"
}

// argNumber reads N of (arg N); -1 after a diagnostic.
func (c *condReader) argNumber(n *node) int {
	d := n.list[1]
	v, ok := decimal(d)
	if !ok || v > 5 {
		c.fail(d.rng, "Invalid argument number", fmt.Sprintf("(arg N) takes N from 0 to 5, not %s.", d))
		return -1
	}
	return int(v)
}

var decimalRE = regexp.MustCompile(`^[0-9]+$`)

// decimal reads a bare decimal number, as the generator's int(tok, 10).
func decimal(n *node) (uint64, bool) {
	if n.isList || n.quoted || !decimalRE.MatchString(n.atom) {
		return 0, false
	}
	v, err := strconv.ParseUint(n.atom, 10, 64)
	return v, err == nil
}

// value reads the constant side of a comparison.
func (c *condReader) value(n *node) Value {
	v := Value{Text: n.atom, Rng: n.rng}
	switch {
	case n.isList:
		c.fail(n.rng, "Invalid value", fmt.Sprintf("%s is not a value: compare with a number, a parameter or a C constant.", n))
	case !n.quoted && len(n.atom) > 1 && n.atom[0] == '-' && decimalRE.MatchString(n.atom[1:]):
		c.fail(n.rng, "Negative number", "Firedancer's generator takes no negative numbers; write a C expression such as \"(int)-1\".")
	case !n.quoted && decimalRE.MatchString(n.atom):
		num, ok := decimal(n)
		if !ok || num >= 1<<32 {
			c.fail(n.rng, "Number too large", "A number must be below 2^32 (4294967296).")
		}
		v.Kind, v.Num = Number, num
	case !n.quoted && c.params[n.atom]:
		v.Kind = ParamRef
	default:
		v.Kind = CConst
		x, err := parseC(n.atom)
		if err == nil {
			err = x.checkNames(c.params)
		}
		if err != nil {
			c.fail(n.rng, "Invalid C constant", fmt.Sprintf("%s: %v.", n, err))
		}
		v.C = x
	}
	return v
}
