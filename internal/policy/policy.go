// Package policy is the resolved form of a seccomp policy for one service on
// one architecture: syscall numbers, argument conditions with every constant,
// fd and variable already replaced by a number, and actions.
//
// It is the contract between the language (hclspec, resolved by plan) and the
// BPF compiler (internal/compile), and it carries its own meaning: Eval decides
// a syscall from the policy alone, without any BPF, so that compiled programs
// can be checked against it.
package policy

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// ActionKind is what the kernel does with a syscall.
type ActionKind uint8

// Actions, ordered from least to most restrictive (see Precedence).
const (
	Allow ActionKind = iota
	Log
	// ExecOnce is SECCOMP_RET_USER_NOTIF, which fencer's programs return
	// only for the exec-once gate (Filter.ExecOnce): the loader's own
	// execve is let through by a listener that exists only until that
	// execve, and every later one fails with ENOSYS, since the kernel
	// fails a notification that has no listener. The kernel ranks it
	// between log and errno.
	ExecOnce
	Errno
	Trap
	KillThread
	KillProcess
)

// SECCOMP_RET_* values (linux/seccomp.h), as package bpf defines them.
const (
	RetKillProcess = bpf.RetKillProcess
	RetKillThread  = bpf.RetKillThread
	RetTrap        = bpf.RetTrap
	RetErrno       = bpf.RetErrno
	RetUserNotif   = bpf.RetUserNotif
	RetLog         = bpf.RetLog
	RetAllow       = bpf.RetAllow
	RetData        = bpf.RetData
)

// MaxErrno is the largest errno the kernel passes back from SECCOMP_RET_ERRNO.
const MaxErrno = 4095

// Action is an action with its data (the errno for Errno, si_errno for Trap).
type Action struct {
	Kind ActionKind
	Data uint16
}

// Common actions.
var (
	ActAllow       = Action{Kind: Allow}
	ActKillProcess = Action{Kind: KillProcess}
	ActExecOnce    = Action{Kind: ExecOnce}
)

// enosys is ENOSYS, the same number on every architecture fencer supports.
const enosys = 38

var kindNames = [...]string{
	Allow:       "allow",
	Log:         "log",
	ExecOnce:    "exec_once",
	Errno:       "errno",
	Trap:        "trap",
	KillThread:  "kill_thread",
	KillProcess: "kill_process",
}

// String spells the action as the language does: allow, log, trap,
// kill_thread, kill_process, errno(N), and exec_once for the exec-once
// gate's verdict.
func (a Action) String() string {
	if int(a.Kind) >= len(kindNames) {
		return fmt.Sprintf("action(%d)", a.Kind)
	}
	switch {
	case a.Kind == Errno:
		return fmt.Sprintf("errno(%d)", a.Data)
	case a.Kind == Trap && a.Data != 0:
		return fmt.Sprintf("trap(%d)", a.Data)
	}
	return kindNames[a.Kind]
}

// Ret is the SECCOMP_RET_* value a filter returns for the action.
func (a Action) Ret() uint32 {
	switch a.Kind {
	case Allow:
		return RetAllow
	case Log:
		return RetLog
	case ExecOnce:
		return RetUserNotif
	case Errno:
		return RetErrno | uint32(a.Data)
	case Trap:
		return RetTrap | uint32(a.Data)
	case KillThread:
		return RetKillThread
	default:
		return RetKillProcess
	}
}

// ActionFromRet decodes a filter's return value. Values the kernel would
// treat as unknown actions decode as kill_process, as the kernel does.
// SECCOMP_RET_USER_NOTIF decodes as ExecOnce, the one use fencer makes of
// it; SECCOMP_RET_TRACE, which fencer never emits, decodes as errno(ENOSYS),
// what the kernel does with it when no tracer is attached.
func ActionFromRet(ret uint32) Action {
	data := uint16(ret & RetData)
	switch ret &^ RetData {
	case RetAllow:
		return ActAllow
	case RetLog:
		return Action{Kind: Log}
	case RetUserNotif:
		return ActExecOnce
	case bpf.RetTrace:
		return Action{Kind: Errno, Data: enosys}
	case RetErrno:
		if data > MaxErrno {
			data = MaxErrno
		}
		return Action{Kind: Errno, Data: data}
	case RetTrap:
		return Action{Kind: Trap, Data: data}
	case RetKillThread:
		return Action{Kind: KillThread}
	}
	return ActKillProcess
}

// ParseAction reads an action as the language spells it. Errno takes a
// number here; names such as EPERM are resolved by the caller. exec_once is
// not an action a rule can give, and does not parse.
func ParseAction(s string) (Action, bool) {
	for k, n := range kindNames {
		if s == n && ActionKind(k) != Errno && ActionKind(k) != ExecOnce {
			return Action{Kind: ActionKind(k)}, true
		}
	}
	return Action{}, false
}

// ActionNames lists the spellings accepted by ParseAction plus errno(N).
func ActionNames() []string {
	return []string{"allow", "log", "trap", "kill_thread", "kill_process", "errno(EPERM)"}
}

// Precedence orders actions as the kernel does when several filters
// disagree: kill_process > kill_thread > trap > errno > exec_once (USER_NOTIF)
// > log > allow.
func (a Action) Precedence() int { return int(a.Kind) }

// Op is an unsigned comparison.
type Op uint8

// Comparison operators.
const (
	EQ Op = iota
	NE
	LT
	LE
	GT
	GE
)

var opNames = [...]string{EQ: "==", NE: "!=", LT: "<", LE: "<=", GT: ">", GE: ">="}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Negate returns the operator that holds exactly when o does not.
func (o Op) Negate() Op {
	return [...]Op{EQ: NE, NE: EQ, LT: GE, LE: GT, GT: LE, GE: LT}[o]
}

// Apply compares a and b with o, unsigned.
func (o Op) Apply(a, b uint64) bool {
	switch o {
	case EQ:
		return a == b
	case NE:
		return a != b
	case LT:
		return a < b
	case LE:
		return a <= b
	case GT:
		return a > b
	case GE:
		return a >= b
	}
	return false
}

// Expr is a condition over a syscall's arguments.
type Expr interface {
	// String is a canonical rendering, equal for equal conditions.
	String() string
	isExpr()
}

// Const is a condition that is always true or always false.
type Const bool

// And holds when every operand holds (true when empty).
type And []Expr

// Or holds when any operand holds (false when empty).
type Or []Expr

// Not holds when X does not.
type Not struct{ X Expr }

// Cmp compares an argument, masked, with a value: (args[Arg] & Mask) Op Value.
// The mask also carries the argument's width: a 32-bit argument is compared
// with Mask 0xffffffff (or narrower), so its high word never matters.
type Cmp struct {
	Arg   int
	Mask  uint64
	Op    Op
	Value uint64
	// Param, when set, names the parameter Value comes from (an fd of the
	// service, for a filter compiled with its fd numbers left open:
	// compile.Parametric). Value is then the parameter's value in this
	// policy, which Eval uses, and which a parametric compile must not
	// look at: the same program serves every value (WithParams).
	Param string
}

// Decided reports whether the mask decides the comparison whatever the
// argument, and if so whether it always holds: with a zero mask; for ==
// and != with a value that has bits outside the mask; and for <, <=, >
// and >= at the bounds of the masked argument, which is between 0 and the
// mask. It decides every comparison that is constant (internal/cond's
// TestComparisonEdges has the edges): resolve warns about each, and the
// compiler folds them.
func (c Cmp) Decided() (always, ok bool) {
	switch {
	case c.Mask == 0:
		return c.Op.Apply(0, c.Value), true
	case c.Value&^c.Mask != 0 && (c.Op == EQ || c.Op == NE):
		// The masked argument can never equal a value with bits outside
		// the mask.
		return c.Op == NE, true
	case (c.Op == GE && c.Value == 0) || (c.Op == LE && c.Value >= c.Mask) || (c.Op == LT && c.Value > c.Mask):
		return true, true
	case (c.Op == LT && c.Value == 0) || (c.Op == GT && c.Value >= c.Mask) || (c.Op == GE && c.Value > c.Mask):
		return false, true
	}
	return false, false
}

func (Const) isExpr() {}
func (And) isExpr()   {}
func (Or) isExpr()    {}
func (Not) isExpr()   {}
func (Cmp) isExpr()   {}

func (c Const) String() string {
	if c {
		return "true"
	}
	return "false"
}

func (x And) String() string { return joinExprs("&&", "true", x) }
func (x Or) String() string  { return joinExprs("||", "false", x) }
func (x Not) String() string { return "!" + x.X.String() }

func (c Cmp) String() string {
	arg := fmt.Sprintf("arg%d", c.Arg)
	if c.Mask != ^uint64(0) {
		arg = fmt.Sprintf("(arg%d & %#x)", c.Arg, c.Mask)
	}
	if c.Param != "" {
		return fmt.Sprintf("%s %s %s(%#x)", arg, c.Op, c.Param, c.Value)
	}
	return fmt.Sprintf("%s %s %#x", arg, c.Op, c.Value)
}

func joinExprs(op, empty string, xs []Expr) string {
	if len(xs) == 0 {
		return empty
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return "(" + strings.Join(parts, " "+op+" ") + ")"
}

// Comparisons returns every comparison of the condition, in order, as
// many times as it occurs.
func Comparisons(e Expr) []Cmp {
	var out []Cmp
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case And:
			for _, y := range x {
				walk(y)
			}
		case Or:
			for _, y := range x {
				walk(y)
			}
		case Not:
			walk(x.X)
		case Cmp:
			out = append(out, x)
		}
	}
	walk(e)
	return out
}

// Eval decides the condition for the six argument values.
func Eval(e Expr, args *[6]uint64) bool {
	switch x := e.(type) {
	case Const:
		return bool(x)
	case And:
		for _, y := range x {
			if !Eval(y, args) {
				return false
			}
		}
		return true
	case Or:
		for _, y := range x {
			if Eval(y, args) {
				return true
			}
		}
		return false
	case Not:
		return !Eval(x.X, args)
	case Cmp:
		return x.Op.Apply(args[x.Arg]&x.Mask, x.Value)
	}
	panic(fmt.Sprintf("policy: unknown condition %T", e))
}

// MapCmps returns e with each comparison c replaced by f(c).
func MapCmps(e Expr, f func(Cmp) Cmp) Expr {
	switch x := e.(type) {
	case And:
		out := make(And, len(x))
		for i, y := range x {
			out[i] = MapCmps(y, f)
		}
		return out
	case Or:
		out := make(Or, len(x))
		for i, y := range x {
			out[i] = MapCmps(y, f)
		}
		return out
	case Not:
		return Not{X: MapCmps(x.X, f)}
	case Cmp:
		return f(x)
	}
	return e
}

// Rule gives an action to one syscall when its condition holds.
type Rule struct {
	// Name is the rule's name in the configuration, for messages.
	Name string
	// Syscall is the syscall's name and Nr its number on the filter's arch.
	Syscall string
	Nr      uint32
	// When is the condition; Const(true) for an unconditional rule.
	When   Expr
	Action Action
}

// Filter is the whole policy of one service for one architecture.
type Filter struct {
	// Service names the policy in messages.
	Service string
	// Arch is the architecture's name (x86_64, aarch64, ...), AuditArch its
	// AUDIT_ARCH_* value.
	Arch      string
	AuditArch uint32
	// Order is the architecture's byte order, which places the low and high
	// words of each argument in seccomp_data.
	Order binary.ByteOrder
	// X32 is set on x86_64, where syscall numbers with bit 30 set belong to
	// the x32 ABI; they never reach the rules and are killed.
	X32 bool
	// Default is the action for syscalls no rule matches.
	Default Action
	Rules   []Rule
	// ExecOnce lists the syscall numbers behind the exec-once gate (execve,
	// when no rule names it and the loader starts the service): each gets
	// ExecOnce whatever its arguments, before any rule is looked at.
	ExecOnce []uint32
}

// X32Bit is __X32_SYSCALL_BIT.
const X32Bit = 0x40000000

// Data is struct seccomp_data as the filter sees it.
type Data struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// Decide is the policy's meaning, computed without BPF: a foreign
// architecture and, on x86_64, the x32 syscall range are killed; a syscall
// behind the exec-once gate gets ExecOnce; otherwise, among the rules for
// the syscall whose condition holds, the most restrictive action wins (the
// first declared among equals); when none holds, the default action
// applies.
func (f *Filter) Decide(d Data) Action {
	a, _ := f.Explain(d)
	return a
}

// Why Explain decided as it did, when no rule did.
const (
	ByDefault     = -1 // no rule holds
	ByForeignArch = -2 // seccomp_data.arch is not the filter's
	ByX32         = -3 // an x32 syscall number on x86_64
	ByExecOnce    = -4 // the exec-once gate
)

// Explain is Decide that also says which rule decided: its index in
// Rules, or ByDefault, ByForeignArch, ByX32 or ByExecOnce.
func (f *Filter) Explain(d Data) (Action, int) {
	if d.Arch != f.AuditArch {
		return ActKillProcess, ByForeignArch
	}
	if f.X32 && uint32(d.Nr) >= X32Bit {
		return ActKillProcess, ByX32
	}
	for _, nr := range f.ExecOnce {
		if nr == uint32(d.Nr) {
			return ActExecOnce, ByExecOnce
		}
	}
	best, which := f.Default, ByDefault
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Nr != uint32(d.Nr) || !Eval(r.When, &d.Args) {
			continue
		}
		if which < 0 || r.Action.Precedence() > best.Precedence() {
			best, which = r.Action, i
		}
	}
	return best, which
}

// MapCmps returns a copy of f whose comparisons are replaced by fn's
// (policy.MapCmps).
func (f *Filter) MapCmps(fn func(Cmp) Cmp) *Filter {
	g := *f
	g.Rules = make([]Rule, len(f.Rules))
	for i, r := range f.Rules {
		r.When = MapCmps(r.When, fn)
		g.Rules[i] = r
	}
	return &g
}

// WithParams returns a copy of f whose comparisons with parameters have
// the values given: the policy for those values. Parameters values lacks
// keep theirs.
func (f *Filter) WithParams(values map[string]uint32) *Filter {
	return f.MapCmps(func(c Cmp) Cmp {
		if v, ok := values[c.Param]; ok && c.Param != "" {
			c.Value = uint64(v)
		}
		return c
	})
}

// Params lists the parameters f's comparisons name, in the order they
// first occur.
func (f *Filter) Params() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range f.Rules {
		for _, c := range Comparisons(r.When) {
			if c.Param != "" && !seen[c.Param] {
				seen[c.Param] = true
				out = append(out, c.Param)
			}
		}
	}
	return out
}

// Syscalls lists the syscall numbers that have rules, ascending.
func (f *Filter) Syscalls() []uint32 {
	seen := map[uint32]bool{}
	var nrs []uint32
	for _, r := range f.Rules {
		if !seen[r.Nr] {
			seen[r.Nr] = true
			nrs = append(nrs, r.Nr)
		}
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	return nrs
}
