package resolve

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Argument widths that depend on the call.
//
// Most arguments are read on one width (arch.ArgWidths has no cases): a
// comparison on them is one policy.Cmp under that width's mask. Some are
// read on a width that depends on another argument, the command:
// keyctl's arg1 is a key serial (32 bits) for KEYCTL_GET_KEYRING_ID and a
// pointer (64) for KEYCTL_JOIN_SESSION_KEYRING. A comparison on such an
// argument becomes one comparison per width, each guarded by the commands
// that give it:
//
//	(arg0 in {commands read on 32 bits} && cmp on 32 bits) ||
//	(!(arg0 in {...}) && cmp on 64 bits)
//
// so that every call is compared on the bits the kernel reads in it. When
// the condition itself fixes the command (arg0 == KEYCTL_READ && arg1 == 5),
// only that command's width is compiled: the comparison matters only in
// calls with that command.

// pins are the values a condition's context fixes arguments to. In
// A && B, B decides the conjunction only in calls where A holds, so when A
// is argK == V (or contains([V, ...], argK)) B may be read as if argK
// were V.
type pins map[int][]uint64

// pinsOf adds to outer the arguments the conjuncts xs fix. A conjunct on an
// argument whose own width depends on the call (prctl's arg1 is an int for
// PR_SET_MM) pins it only once the others decide that width, hence the
// second pass.
func (r *resolver) pinsOf(xs []hclspec.Cond, syscall string, outer pins) pins {
	out := outer
	used := make([]bool, len(xs))
	for pass := 0; pass < 2; pass++ {
		for i, x := range xs {
			if used[i] {
				continue
			}
			var arg int
			var items []hclspec.Value
			switch y := x.(type) {
			case hclspec.Compare:
				if y.Op != policy.EQ || y.Mask != nil {
					continue
				}
				arg, items = y.Arg, []hclspec.Value{y.V}
			case hclspec.Contains:
				if y.Mask != nil {
					continue
				}
				arg, items = y.Arg, y.List
			default:
				continue
			}
			if arg < 0 || arg > 5 {
				continue
			}
			bits, ok := r.pinWidth(syscall, arg, out)
			if !ok {
				continue
			}
			var vals []uint64
			for _, it := range items {
				v, vok := r.valueAt(it, bits)
				// An fd left open pins nothing: its value is not known.
				ok = ok && vok && r.param(it) == ""
				vals = append(vals, v&arch.WidthMask(bits))
			}
			if !ok {
				continue
			}
			used[i] = true
			cp := pins{}
			for k, v := range out {
				cp[k] = v
			}
			if prev, seen := cp[arg]; seen {
				vals = intersect(prev, vals)
			}
			cp[arg] = vals
			out = cp
		}
	}
	return out
}

// pinWidth is the width of argument arg in the calls p allows, if it is
// the same in all of them.
func (r *resolver) pinWidth(syscall string, arg int, p pins) (int, bool) {
	cases, def := r.arch.ArgWidths(syscall, arg)
	if len(cases) == 0 {
		return def.Bits, true
	}
	if brs := r.branches(cases, def, p); len(brs) == 1 {
		return brs[0].bits, true
	}
	return 0, false
}

func intersect(a, b []uint64) []uint64 {
	var out []uint64
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// atom is a comparison-like condition on one argument: a comparison, a
// contains or a has_bits.
type atom struct {
	arg  int
	mask hclspec.Value // masked(argN, MASK), nil if none
	rng  hcl.Range

	// One of:
	op    policy.Op
	v     hclspec.Value   // a comparison's value
	list  []hclspec.Value // contains' values
	bits  hclspec.Value   // has_bits' mask
	isCmp bool
}

// branch is the calls (cond) whose argument the kernel reads on one
// width, and the widths of the table's cases that make them up.
type branch struct {
	cond  policy.Expr
	bits  int
	parts []arch.Width
}

// resolveAtom compiles a on the width the kernel reads argument a.arg with
// in each call, checking a's values once against the widest of them.
func (r *resolver) resolveAtom(a atom, syscall string, p pins) policy.Expr {
	if !r.argExists(a.arg, syscall, a.rng) {
		return policy.Const(false)
	}
	cases, def := r.arch.ArgWidths(syscall, a.arg)
	widest := def.Bits
	for _, c := range cases {
		if c.Width.Bits > widest {
			widest = c.Width.Bits
		}
	}
	if !r.checkAtom(a, syscall, widest) {
		return policy.Const(false)
	}
	brs := r.branches(cases, def, p)
	r.warnWidth(a, syscall, brs)
	if len(brs) == 1 {
		e := r.atomAt(a, brs[0].bits)
		if c, ok := e.(policy.Cmp); ok && a.isCmp {
			r.decided(c, a.rng)
		}
		return e
	}
	out := make(policy.Or, 0, len(brs))
	for _, b := range brs {
		out = append(out, policy.And{b.cond, r.atomAt(a, b.bits)})
	}
	return out
}

// checkAtom resolves a's values for an argument of width bits, reporting
// what does not fit it. Nothing is checked twice: atomAt then resolves the
// values again for each width without diagnostics.
func (r *resolver) checkAtom(a atom, syscall string, bits int) bool {
	ok := true
	check := func(v hclspec.Value) {
		x, vok := r.value(v, bits)
		if !vok {
			ok = false
			return
		}
		r.fits(x, v.Range(), a.arg, syscall)
	}
	if a.mask != nil {
		check(a.mask)
		r.notParam(a.mask, false)
	}
	switch {
	case a.isCmp:
		check(a.v)
		r.notParam(a.v, true)
	case a.bits != nil:
		check(a.bits)
		r.notParam(a.bits, false)
	default:
		for _, it := range a.list {
			check(it)
			r.notParam(it, true)
		}
	}
	return ok
}

// notParam reports, with a diagnostic, an fd in v where its number
// cannot be left open (ParametricPolicy): anywhere but the value itself
// of a comparison or of a contains list, which direct says v is.
func (r *resolver) notParam(v hclspec.Value, direct bool) {
	if !r.params {
		return
	}
	switch x := v.(type) {
	case hclspec.FdRef:
		if !direct {
			r.errorf(x.Rng, "fd number used as more than a value",
				"fd.%s is a parameter of the exported filter, which can only be compared with an argument: its number cannot be part of a mask, has_bits or bitor.", x.Name)
		}
	case hclspec.BitOr:
		for _, y := range x.Xs {
			r.notParam(y, false)
		}
	}
}

// atomAt compiles a for calls whose argument is read on bits.
func (r *resolver) atomAt(a atom, bits int) policy.Expr {
	wm := arch.WidthMask(bits)
	val := func(v hclspec.Value) uint64 {
		x, _ := r.valueAt(v, bits)
		return x
	}
	if a.bits != nil {
		m := val(a.bits)
		if m&^wm != 0 {
			// The kernel reads no such bit here: it is never set.
			return policy.Const(false)
		}
		return policy.Cmp{Arg: a.arg, Mask: m, Op: policy.EQ, Value: m}
	}
	mask := wm
	if a.mask != nil {
		mask &= val(a.mask)
	}
	if a.isCmp {
		return policy.Cmp{Arg: a.arg, Mask: mask, Op: a.op, Value: val(a.v), Param: r.param(a.v)}
	}
	out := make(policy.Or, 0, len(a.list))
	for _, it := range a.list {
		out = append(out, policy.Cmp{Arg: a.arg, Mask: mask, Op: policy.EQ, Value: val(it), Param: r.param(it)})
	}
	return out
}

// param is the parameter v is, in a policy with its fds left open: the
// fd's name, "" for any other value.
func (r *resolver) param(v hclspec.Value) string {
	if x, ok := v.(hclspec.FdRef); ok && r.params {
		return x.Name
	}
	return ""
}

// valueAt is value without diagnostics (checkValue checks the values),
// for an argument read on bits: a negative number that fits a signed
// number of that width is its two's complement there; one that does not
// (possible only where a wider reading exists) stays the 64-bit two's
// complement, which a narrower reading never equals.
func (r *resolver) valueAt(v hclspec.Value, bits int) (uint64, bool) {
	switch x := v.(type) {
	case hclspec.Number:
		if !x.Neg {
			return x.Abs, true
		}
		if x.Abs <= uint64(1)<<(bits-1) {
			return (-x.Abs) & arch.WidthMask(bits), true
		}
		return -x.Abs, true
	case hclspec.ConstRef:
		c, ok := r.arch.Const(x.Name)
		if wm := arch.WidthMask(bits); ok && int64(c) < 0 && c|wm == ^uint64(0) {
			c &= wm
		}
		return c, ok
	case hclspec.FdRef:
		for _, fd := range r.svc.Fds {
			if fd.Name == x.Name {
				return uint64(fd.Number), true
			}
		}
		return 0, false
	case hclspec.SizeOf:
		return r.arch.StructSize(x.Type)
	case hclspec.BitOr:
		var out uint64
		ok := true
		for _, y := range x.Xs {
			v, yok := r.valueAt(y, bits)
			ok = ok && yok
			out |= v
		}
		return out, ok
	}
	return 0, false
}

// branches splits the calls by the width the kernel reads the argument
// with: one branch per width, each with the condition on the other
// arguments that selects its calls. The cases are tried in order (the
// first that holds decides), then def; p removes the cases the condition's
// context rules out. With one width left the branch's condition is true.
func (r *resolver) branches(cases []arch.WidthCase, def arch.Width, p pins) []branch {
	type part struct {
		cond policy.Expr
		w    arch.Width
	}
	var parts []part
	var open []arch.WidthCase // earlier cases the pins leave undecided
	all := append(append([]arch.WidthCase(nil), cases...), arch.WidthCase{Width: def})
	for _, c := range all {
		st, rest := pinned(c.When, p)
		if st < 0 {
			continue
		}
		conds := policy.And{selector(rest)}
		for _, e := range open {
			if e.Width.Bits != c.Width.Bits && overlaps(e.When, c.When) {
				_, erest := pinned(e.When, p)
				conds = append(conds, policy.Not{X: selector(erest)})
			}
		}
		parts = append(parts, part{simplifyAnd(conds), c.Width})
		if st > 0 {
			break
		}
		open = append(open, c)
	}
	// Merge the parts by width. Parts partition the calls, so the group
	// holding the last part (the default, or the first case the pins make
	// certain) is the complement of the others.
	byBits := map[int]*branch{}
	var order []int
	for _, pt := range parts {
		b := byBits[pt.w.Bits]
		if b == nil {
			b = &branch{bits: pt.w.Bits, cond: policy.Or{}}
			byBits[pt.w.Bits] = b
			order = append(order, pt.w.Bits)
		}
		b.cond = append(b.cond.(policy.Or), pt.cond)
		b.parts = append(b.parts, pt.w)
	}
	if len(order) == 1 {
		b := byBits[order[0]]
		b.cond = policy.Const(true)
		return []branch{*b}
	}
	last := parts[len(parts)-1].w.Bits
	var others policy.Or
	var out []branch
	sort.Ints(order)
	for _, bits := range order {
		if bits == last {
			continue
		}
		b := byBits[bits]
		others = append(others, b.cond)
		out = append(out, *b)
	}
	rest := byBits[last]
	rest.cond = policy.Not{X: others}
	return append(out, *rest)
}

func simplifyAnd(x policy.And) policy.Expr {
	var out policy.And
	for _, y := range x {
		if y != policy.Const(true) {
			out = append(out, y)
		}
	}
	switch len(out) {
	case 0:
		return policy.Const(true)
	case 1:
		return out[0]
	}
	return out
}

// pinned decides the conditions of a case that p fixes: 1 when p makes
// them all hold, -1 when p makes one fail, else 0 and the conditions p
// leaves open.
func pinned(when []arch.ArgIn, p pins) (int, []arch.ArgIn) {
	var rest []arch.ArgIn
	for _, in := range when {
		vals, ok := p[in.Arg]
		if !ok {
			rest = append(rest, in)
			continue
		}
		hit, miss := 0, 0
		for _, v := range vals {
			if has(in.Values, v&in.Mask) {
				hit++
			} else {
				miss++
			}
		}
		switch {
		case miss == 0:
			// Every value the context allows satisfies it.
		case hit == 0:
			return -1, nil
		default:
			rest = append(rest, in)
		}
	}
	if len(rest) == 0 {
		return 1, nil
	}
	return 0, rest
}

func has(vals []uint64, v uint64) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// overlaps reports whether some call can satisfy both lists of conditions.
func overlaps(a, b []arch.ArgIn) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Arg != y.Arg || x.Mask != y.Mask {
				continue
			}
			common := false
			for _, v := range x.Values {
				if has(y.Values, v) {
					common = true
					break
				}
			}
			if !common {
				return false
			}
		}
	}
	return true
}

// selector is the condition that the arguments are as when requires: a
// list of values is compared as runs, so that a long list of commands
// costs a few comparisons.
func selector(when []arch.ArgIn) policy.Expr {
	out := policy.And{}
	for _, in := range when {
		vals := append([]uint64(nil), in.Values...)
		sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
		var alt policy.Or
		for i := 0; i < len(vals); {
			j := i
			for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
				j++
			}
			if j-i >= 2 {
				alt = append(alt, policy.And{
					policy.Cmp{Arg: in.Arg, Mask: in.Mask, Op: policy.GE, Value: vals[i]},
					policy.Cmp{Arg: in.Arg, Mask: in.Mask, Op: policy.LE, Value: vals[j]},
				})
			} else {
				for k := i; k <= j; k++ {
					alt = append(alt, policy.Cmp{Arg: in.Arg, Mask: in.Mask, Op: policy.EQ, Value: vals[k]})
				}
			}
			i = j + 1
		}
		if len(alt) == 1 {
			out = append(out, alt[0])
		} else {
			out = append(out, alt)
		}
	}
	return simplifyAnd(out)
}

// argExists checks that the syscall has argument arg where the condition
// is compiled.
func (r *resolver) argExists(arg int, syscall string, rng hcl.Range) bool {
	if first, split := r.arch.SplitFrom(syscall); split && arg >= first {
		r.errorf(rng, "Arguments split across registers",
			"On %s, %s passes a 64-bit argument in two registers (ARM EABI also aligns it to an even register), so from arg%d on the arguments are not where the prototype puts them: arg%d is not the argument it names. "+
				"Give this rule an arch list without %s, or leave the condition off there.", r.arch.Name, syscall, first, arg, r.arch.Name)
		return false
	}
	if n, ok := r.arch.NumArgs(syscall); ok && arg >= n {
		use := "It takes no arguments: drop the condition."
		switch n {
		case 0:
		case 1:
			use = "Only arg0 means something."
		default:
			use = fmt.Sprintf("Use arg0 to arg%d.", n-1)
		}
		r.errorf(rng, "No such argument", "%s takes %d argument%s on %s, so arg%d is whatever a register holds: a condition on it means nothing. %s",
			syscall, n, plural(n), r.arch.Name, arg, use)
		return false
	}
	return true
}

// warnWidth warns when some calls the atom applies to read the argument on
// a width fencer does not know, unless the atom is already written in a
// form the high half cannot change: masked(argN, ...), or has_bits with a
// mask in the low 32 bits.
func (r *resolver) warnWidth(a atom, syscall string, brs []branch) {
	if r.arch.Bits != 64 || a.mask != nil {
		return
	}
	if a.bits != nil {
		if m, ok := r.valueAt(a.bits, 64); ok && m>>32 == 0 {
			return
		}
	}
	var unknown, known []arch.Width
	for _, b := range brs {
		for _, w := range b.parts {
			if w.Known {
				known = append(known, w)
			} else {
				unknown = append(unknown, w)
			}
		}
	}
	if len(unknown) == 0 {
		return
	}
	safe := fmt.Sprintf("If the kernel reads an int there, write masked(arg%d, 4294967295) instead of arg%d, or has_bits(arg%d, MASK) for flags.",
		a.arg, a.arg, a.arg)
	var detail string
	if len(known) == 0 {
		detail = fmt.Sprintf("fencer does not know how many bits of arg%d of %s the kernel reads on %s (%s), so it compares all 64. "+
			"A value with high bits set then matches no comparison: a rule meant to catch every call the kernel reads as some value "+
			"can be dodged that way. %s", a.arg, syscall, r.arch.Name, unknown[0].Reason, safe)
	} else {
		sel := selectorArgs(r.arch, syscall, a.arg)
		detail = fmt.Sprintf("How many bits of arg%d of %s the kernel reads on %s depends on %s. fencer compares each call on the bits "+
			"the kernel reads in it for the values it knows, and on all 64 bits for the others (%s): there a value with high bits set "+
			"matches no comparison, so a rule meant to catch every call the kernel reads as some value can be dodged that way. "+
			"Fix %s in the same condition (%s == VALUE && ...), or: %s",
			a.arg, syscall, r.arch.Name, sel, unknown[0].Reason, sel, strings.SplitN(sel, " ", 2)[0], safe)
	}
	rng := a.rng
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Argument width unknown",
		Detail:   detail,
		Subject:  &rng,
		Extra:    archOf{r.arch.Name},
	})
}

// selectorArgs names the arguments the width of arg depends on: "arg0",
// "arg0 and arg1".
func selectorArgs(a *arch.Arch, syscall string, arg int) string {
	cases, _ := a.ArgWidths(syscall, arg)
	seen := map[int]bool{}
	var names []string
	for _, c := range cases {
		for _, in := range c.When {
			if !seen[in.Arg] {
				seen[in.Arg] = true
				names = append(names, fmt.Sprintf("arg%d", in.Arg))
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, " and ")
}
