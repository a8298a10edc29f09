// Package cond decides questions about policy conditions exactly, where
// sampling arguments could only guess: whether a condition is always or
// never true, whether one implies another, for which values of one
// argument a condition can hold.
//
// A condition (policy.Expr) is turned into a reduced ordered binary
// decision diagram (BDD) over the bits of the syscall's arguments. The
// variables are ordered by argument, then by bit from the most to the least
// significant, so that a masked comparison (args[i] & mask) op value has a
// diagram linear in the bits of its mask, and And, Or and Not are computed
// by memoised apply. Diagrams are canonical within one Manager: two
// conditions are equivalent exactly when their Refs are equal, and a
// condition is always true (never true) exactly when its Ref is True
// (False).
//
// A Manager holds at most a fixed number of nodes. An operation that would
// need more fails with ErrTooBig, so that an adversarial policy costs
// bounded memory and time; callers then treat the question as undecided.
package cond

import (
	"errors"
	"fmt"

	"github.com/fencer-dev/fencer/internal/policy"
)

// NumArgs is how many argument slots a Manager has. Slots 0-5 are the
// syscall's arguments; slots 6-11 are free for callers that need a second
// set of variables (the arguments of another syscall, say).
const NumArgs = 12

// Ref is a node of a Manager's diagrams: a condition.
type Ref int32

// The constant conditions.
const (
	False Ref = 0
	True  Ref = 1
)

// ErrTooBig is returned when an operation needs more nodes than the
// Manager's limit.
var ErrTooBig = errors.New("condition too large to decide")

// DefaultLimit is a node limit that decides any realistic policy and keeps
// a Manager under about 20 MB.
const DefaultLimit = 200_000

// terminalVar orders the two constants below every variable.
const terminalVar = NumArgs * 64

// node is a decision on variable v: lo when the bit is 0, hi when it is 1.
type node struct {
	v      int32
	lo, hi Ref
}

type op uint8

const (
	opAnd op = iota
	opOr
	opNot
)

type memoKey struct {
	op   op
	a, b Ref
}

// Manager builds and queries diagrams. It is not safe for concurrent use.
type Manager struct {
	nodes  []node
	unique map[node]Ref
	memo   map[memoKey]Ref
	limit  int
}

// New returns a Manager that holds at most limit nodes (DefaultLimit when
// limit <= 0).
func New(limit int) *Manager {
	if limit <= 0 {
		limit = DefaultLimit
	}
	m := &Manager{
		unique: map[node]Ref{},
		memo:   map[memoKey]Ref{},
		limit:  limit,
	}
	m.nodes = append(m.nodes, node{v: terminalVar}, node{v: terminalVar})
	return m
}

// Size is the number of nodes the Manager holds.
func (m *Manager) Size() int { return len(m.nodes) }

// tooBig is the panic value that unwinds a failed operation to guard.
type tooBig struct{}

// guard runs f and turns the node limit being reached into ErrTooBig.
func (m *Manager) guard(f func() Ref) (r Ref, err error) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(tooBig); !ok {
				panic(p)
			}
			// The memo is a cache: dropping it keeps memory bounded after
			// a failure.
			m.memo = map[memoKey]Ref{}
			r, err = False, ErrTooBig
		}
	}()
	return f(), nil
}

// variable is the index of bit b (0 = least significant) of argument arg:
// arguments in order, and within one the most significant bit first.
func variable(arg, b int) int32 { return int32(arg*64 + 63 - b) }

// argOf is the argument a variable belongs to, bitOf its bit.
func argOf(v int32) int { return int(v) / 64 }
func bitOf(v int32) int { return 63 - int(v)%64 }

func (m *Manager) mk(v int32, lo, hi Ref) Ref {
	if lo == hi {
		return lo
	}
	n := node{v: v, lo: lo, hi: hi}
	if r, ok := m.unique[n]; ok {
		return r
	}
	if len(m.nodes) >= m.limit {
		panic(tooBig{})
	}
	r := Ref(len(m.nodes))
	m.nodes = append(m.nodes, n)
	m.unique[n] = r
	return r
}

func (m *Manager) remember(k memoKey, r Ref) Ref {
	if len(m.memo) >= m.limit {
		m.memo = map[memoKey]Ref{}
	}
	m.memo[k] = r
	return r
}

func (m *Manager) and(a, b Ref) Ref {
	switch {
	case a == False || b == False:
		return False
	case a == True:
		return b
	case b == True || a == b:
		return a
	}
	return m.apply(opAnd, a, b)
}

func (m *Manager) or(a, b Ref) Ref {
	switch {
	case a == True || b == True:
		return True
	case a == False:
		return b
	case b == False || a == b:
		return a
	}
	return m.apply(opOr, a, b)
}

func (m *Manager) apply(o op, a, b Ref) Ref {
	if a > b {
		a, b = b, a
	}
	k := memoKey{o, a, b}
	if r, ok := m.memo[k]; ok {
		return r
	}
	na, nb := m.nodes[a], m.nodes[b]
	v := min(na.v, nb.v)
	alo, ahi := a, a
	if na.v == v {
		alo, ahi = na.lo, na.hi
	}
	blo, bhi := b, b
	if nb.v == v {
		blo, bhi = nb.lo, nb.hi
	}
	var lo, hi Ref
	if o == opAnd {
		lo, hi = m.and(alo, blo), m.and(ahi, bhi)
	} else {
		lo, hi = m.or(alo, blo), m.or(ahi, bhi)
	}
	return m.remember(k, m.mk(v, lo, hi))
}

func (m *Manager) not(a Ref) Ref {
	switch a {
	case False:
		return True
	case True:
		return False
	}
	k := memoKey{opNot, a, 0}
	if r, ok := m.memo[k]; ok {
		return r
	}
	n := m.nodes[a]
	return m.remember(k, m.mk(n.v, m.not(n.lo), m.not(n.hi)))
}

// And is a ∧ b.
func (m *Manager) And(a, b Ref) (Ref, error) { return m.guard(func() Ref { return m.and(a, b) }) }

// Or is a ∨ b.
func (m *Manager) Or(a, b Ref) (Ref, error) { return m.guard(func() Ref { return m.or(a, b) }) }

// Not is ¬a.
func (m *Manager) Not(a Ref) (Ref, error) { return m.guard(func() Ref { return m.not(a) }) }

// AndNot is a ∧ ¬b.
func (m *Manager) AndNot(a, b Ref) (Ref, error) {
	return m.guard(func() Ref { return m.and(a, m.not(b)) })
}

// Implies reports whether a implies b: a ∧ ¬b is never true.
func (m *Manager) Implies(a, b Ref) (bool, error) {
	r, err := m.AndNot(a, b)
	return r == False, err
}

// Expr builds the diagram of a condition over arguments 0-5. An argument
// outside 0 to NumArgs-1 is an error.
func (m *Manager) Expr(e policy.Expr) (Ref, error) {
	if err := checkArgs(e); err != nil {
		return False, err
	}
	return m.guard(func() Ref { return m.expr(e) })
}

func checkArgs(e policy.Expr) error {
	switch x := e.(type) {
	case policy.Const:
	case policy.And:
		for _, y := range x {
			if err := checkArgs(y); err != nil {
				return err
			}
		}
	case policy.Or:
		for _, y := range x {
			if err := checkArgs(y); err != nil {
				return err
			}
		}
	case policy.Not:
		return checkArgs(x.X)
	case policy.Cmp:
		if x.Arg < 0 || x.Arg >= NumArgs {
			return fmt.Errorf("cond: argument %d out of range", x.Arg)
		}
		if int(x.Op) > int(policy.GE) {
			return fmt.Errorf("cond: unknown operator %v", x.Op)
		}
	default:
		return fmt.Errorf("cond: unknown condition %T", e)
	}
	return nil
}

func (m *Manager) expr(e policy.Expr) Ref {
	switch x := e.(type) {
	case policy.Const:
		if x {
			return True
		}
		return False
	case policy.And:
		r := True
		for _, y := range x {
			r = m.and(r, m.expr(y))
			if r == False {
				break
			}
		}
		return r
	case policy.Or:
		r := False
		for _, y := range x {
			r = m.or(r, m.expr(y))
			if r == True {
				break
			}
		}
		return r
	case policy.Not:
		return m.not(m.expr(x.X))
	case policy.Cmp:
		return m.cmp(x)
	}
	// checkArgs let only the types above through.
	panic(fmt.Sprintf("cond: unknown condition %T", e))
}

// cmp builds (args[c.Arg] & c.Mask) op c.Value bottom-up, from the least
// significant bit to the most, one node per bit of the mask: y = x & mask
// has y's bit b equal to x's where the mask has it, and 0 elsewhere.
func (m *Manager) cmp(c policy.Cmp) Ref {
	switch c.Op {
	case policy.NE:
		return m.not(m.cmp(policy.Cmp{Arg: c.Arg, Mask: c.Mask, Op: policy.EQ, Value: c.Value}))
	case policy.GT:
		return m.not(m.cmp(policy.Cmp{Arg: c.Arg, Mask: c.Mask, Op: policy.LE, Value: c.Value}))
	case policy.GE:
		return m.not(m.cmp(policy.Cmp{Arg: c.Arg, Mask: c.Mask, Op: policy.LT, Value: c.Value}))
	case policy.EQ:
		if c.Value&^c.Mask != 0 {
			return False
		}
		r := True
		for b := 0; b < 64; b++ {
			if c.Mask>>b&1 == 0 {
				continue
			}
			if c.Value>>b&1 == 1 {
				r = m.mk(variable(c.Arg, b), False, r)
			} else {
				r = m.mk(variable(c.Arg, b), r, False)
			}
		}
		return r
	}
	// LT and LE: r is the answer when the bits above the current one are
	// equal, starting from the answer for equal values.
	r := False
	if c.Op == policy.LE {
		r = True
	}
	for b := 0; b < 64; b++ {
		vb := c.Value>>b&1 == 1
		if c.Mask>>b&1 == 0 {
			// y's bit is 0: below v's bit when that is 1.
			if vb {
				r = True
			}
			continue
		}
		if vb {
			r = m.mk(variable(c.Arg, b), True, r)
		} else {
			r = m.mk(variable(c.Arg, b), r, False)
		}
	}
	return r
}

// Eval decides r for the argument values args (slots beyond len(args) are
// 0).
func (m *Manager) Eval(r Ref, args []uint64) bool {
	for r != True && r != False {
		n := m.nodes[r]
		var x uint64
		if a := argOf(n.v); a < len(args) {
			x = args[a]
		}
		if x>>bitOf(n.v)&1 == 1 {
			r = n.hi
		} else {
			r = n.lo
		}
	}
	return r == True
}

// Witness returns argument values for which r holds, false when r never
// does: the least such vector, argument 0 first, compared as numbers.
func (m *Manager) Witness(r Ref) ([NumArgs]uint64, bool) {
	var args [NumArgs]uint64
	if r == False {
		return args, false
	}
	for r != True {
		n := m.nodes[r]
		if n.lo != False {
			r = n.lo
			continue
		}
		args[argOf(n.v)] |= 1 << bitOf(n.v)
		r = n.hi
	}
	return args, true
}

// Max returns the greatest value v with no bits outside mask such that r
// holds for some arguments whose argument arg, masked, is v; false when r
// never holds.
func (m *Manager) Max(r Ref, arg int, mask uint64) (uint64, bool) {
	if r == False {
		return 0, false
	}
	var fixed, val uint64
	for b := 63; b >= 0; b-- {
		if mask>>b&1 == 0 {
			continue
		}
		fixed |= 1 << b
		if m.satisfiable(r, arg, fixed, val|1<<b) {
			val |= 1 << b
		}
	}
	return val, true
}

// satisfiable reports whether r holds for some arguments whose argument
// arg has the bits fixed set as in val.
func (m *Manager) satisfiable(r Ref, arg int, fixed, val uint64) bool {
	memo := map[Ref]bool{}
	var sat func(Ref) bool
	sat = func(r Ref) bool {
		if r == True || r == False {
			return r == True
		}
		if x, ok := memo[r]; ok {
			return x
		}
		n := m.nodes[r]
		var x bool
		if b := bitOf(n.v); argOf(n.v) == arg && fixed>>b&1 == 1 {
			if val>>b&1 == 1 {
				x = sat(n.hi)
			} else {
				x = sat(n.lo)
			}
		} else {
			x = sat(n.lo) || sat(n.hi)
		}
		memo[r] = x
		return x
	}
	return sat(r)
}

// Exists quantifies away every argument keep does not name: the result
// holds for values of the kept arguments exactly when some values of the
// others make r hold.
func (m *Manager) Exists(r Ref, keep ...int) (Ref, error) {
	kept := [NumArgs]bool{}
	for _, a := range keep {
		if a >= 0 && a < NumArgs {
			kept[a] = true
		}
	}
	memo := map[Ref]Ref{}
	var ex func(Ref) Ref
	ex = func(r Ref) Ref {
		if r == True || r == False {
			return r
		}
		if x, ok := memo[r]; ok {
			return x
		}
		n := m.nodes[r]
		lo, hi := ex(n.lo), ex(n.hi)
		var x Ref
		if kept[argOf(n.v)] {
			x = m.mk(n.v, lo, hi)
		} else {
			x = m.or(lo, hi)
		}
		memo[r] = x
		return x
	}
	return m.guard(func() Ref { return ex(r) })
}

// Forall is the dual of Exists: the result holds for values of the kept
// arguments exactly when r holds whatever the others are.
func (m *Manager) Forall(r Ref, keep ...int) (Ref, error) {
	nr, err := m.Not(r)
	if err != nil {
		return False, err
	}
	e, err := m.Exists(nr, keep...)
	if err != nil {
		return False, err
	}
	return m.Not(e)
}

// Depends lists the arguments r looks at, ascending.
func (m *Manager) Depends(r Ref) []int {
	seen := map[Ref]bool{}
	var used [NumArgs]bool
	var walk func(Ref)
	walk = func(r Ref) {
		if r == True || r == False || seen[r] {
			return
		}
		seen[r] = true
		n := m.nodes[r]
		used[argOf(n.v)] = true
		walk(n.lo)
		walk(n.hi)
	}
	walk(r)
	var out []int
	for a, u := range used {
		if u {
			out = append(out, a)
		}
	}
	return out
}

// Move rewrites r, which must look at argument from only, as the same
// condition on argument to. Moving one argument keeps the variable order,
// so the result is built node for node.
func (m *Manager) Move(r Ref, from, to int) (Ref, error) {
	if to < 0 || to >= NumArgs {
		return False, fmt.Errorf("cond: argument %d out of range", to)
	}
	for _, a := range m.Depends(r) {
		if a != from {
			return False, fmt.Errorf("cond: Move from argument %d of a condition on argument %d", from, a)
		}
	}
	memo := map[Ref]Ref{}
	var mv func(Ref) Ref
	mv = func(r Ref) Ref {
		if r == True || r == False {
			return r
		}
		if x, ok := memo[r]; ok {
			return x
		}
		n := m.nodes[r]
		x := m.mk(variable(to, bitOf(n.v)), mv(n.lo), mv(n.hi))
		memo[r] = x
		return x
	}
	return m.guard(func() Ref { return mv(r) })
}
