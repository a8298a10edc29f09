// Package firedancer reads Firedancer's seccomp policy language (the
// .seccomppolicy files its generator contrib/codegen/generate_filters.py
// compiles into C), decides calls as Firedancer's generated filter does
// (Filter.Decide), and writes a policy as a fencer configuration (Write).
//
// A policy file is a signature line, `noarg` or `uint a, uint b, ...` (the
// runtime values the filter is built with, file descriptors in practice),
// then one line per allowed syscall: `name` allows it whatever its
// arguments, `name: (s-expression)` when the expression holds. Lines whose
// first non-blank character is `#` are comments and are dropped first; a
// line that starts with a space or a tab continues the one before it.
// Expressions are `(and E ...)`, `(or E ...)`, `(not E)` and the unsigned
// comparisons `(eq A B)`, `(< A B)`, `(<= A B)`, `(> A B)`, `(>= A B)`, one
// side `(arg N)` (N from 0 to 5) and the other a decimal number, a
// parameter of the signature, or a C constant expression, bare
// (`CLOCK_REALTIME`) or quoted (`"SOCK_CLOEXEC|SOCK_NONBLOCK"`).
//
// The generator's semantics, which Filter.Decide follows: a foreign
// architecture, every syscall the policy does not list (the x32 range on
// x86_64 included) and every call whose expression is false get
// SECCOMP_RET_KILL_PROCESS; the rest SECCOMP_RET_ALLOW. Each comparison is
// on the low 32 bits of the argument when the generator's table of
// prototypes types it `int`, on all 64 bits when `long` (argWidths); a
// constant C expression x is compared as (uint)(int)x in the low word and
// (ulong)x >> 32 in the high one, a parameter or a number with a high word
// of 0.
package firedancer

import (
	"github.com/hashicorp/hcl/v2"
)

// Policy is one parsed .seccomppolicy file.
type Policy struct {
	// Name is the file's base name without .seccomppolicy: the filter's
	// name in Firedancer's generated code.
	Name string
	// Filename is the file's name as given to Parse, for diagnostics.
	Filename string
	// NoArg is set for a `noarg` signature; Params is empty then.
	NoArg  bool
	Params []Param
	// Doc is the comment lines before the signature, without their `#`.
	Doc      []string
	Syscalls []Syscall
	// Trailer is the comment lines after the last syscall.
	Trailer []string
	// SigRange is the signature line's range.
	SigRange hcl.Range
}

// Param is a parameter of the signature.
type Param struct {
	Name  string
	Range hcl.Range
}

// Syscall is one line of the policy: a syscall allowed unconditionally
// (Cond nil) or when Cond holds.
type Syscall struct {
	Name string
	Cond Expr
	// Doc is the comment lines before the entry (and inside it, between
	// its continuation lines), without their `#`.
	Doc []string
	// Range is the syscall name's range.
	Range hcl.Range
}

// Expr is a condition of the policy language.
type Expr interface {
	// SrcRange is where the expression is in the policy file.
	SrcRange() hcl.Range
	isExpr()
}

// Logic is `(and ...)`, `(or ...)` (one or more operands) or `(not X)`.
type Logic struct {
	Op   string // "and", "or" or "not"
	Args []Expr
	Rng  hcl.Range
}

// Cmp compares an argument with a value: `(OP (arg N) V)`, or `(OP V (arg
// N))` when Swapped, which the generator reads as the argument compared
// with the mirrored operator.
type Cmp struct {
	Op      string // "eq", "<", "<=", ">" or ">="
	Arg     int
	Value   Value
	Swapped bool
	Rng     hcl.Range
}

// ValueKind says what a comparison's value is.
type ValueKind uint8

// Kinds of values.
const (
	// Number is a decimal number below 2^32.
	Number ValueKind = iota
	// ParamRef is a parameter of the signature.
	ParamRef
	// CConst is a C constant expression: a bare symbol that is not a
	// parameter, or a quoted string.
	CConst
)

// Value is the constant side of a comparison.
type Value struct {
	Kind ValueKind
	// Num is the number for Number.
	Num uint64
	// Text is the parameter's name or the C expression as written.
	Text string
	// C is the parsed C expression for CConst.
	C   *CExpr
	Rng hcl.Range
}

// SrcRange implements Expr.
func (x *Logic) SrcRange() hcl.Range { return x.Rng }

// SrcRange implements Expr.
func (x *Cmp) SrcRange() hcl.Range { return x.Rng }

func (*Logic) isExpr() {}
func (*Cmp) isExpr()   {}
