package hclspec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// setPrefix starts a syscall_set reference written as a JSON string.
const setPrefix = "syscall_set."

// rawSyscall is one item of a syscalls list before the syscall_set
// references are expanded: a syscall, or a reference to a set.
type rawSyscall struct {
	ref     SyscallRef // a syscall, when setName is ""
	setName string
	rng     hcl.Range // the reference
}

// setDecl is a syscall_set block while references are expanded.
type setDecl struct {
	set   *SyscallSet
	raw   []rawSyscall
	state int // 0 unvisited, 1 visiting, 2 done
	ok    bool
}

// pendingList is a syscalls list waiting for the sets to be known.
type pendingList struct {
	raw    []rawSyscall
	broken bool // an item had an error, already reported
	rng    hcl.Range
	dst    *[]SyscallRef
	what   string
}

var syscallSetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "syscalls", Required: true}},
}

// decodeSyscallSets reads the syscall_set blocks; their references are
// expanded by resolveSyscallSets once everything is read.
func (l *loader) decodeSyscallSets(blocks []*hcl.Block) {
	l.sets = map[string]*setDecl{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, "syscall_set") {
			continue
		}
		if prev, dup := l.sets[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate syscall_set",
				fmt.Sprintf("A syscall_set named %q was already declared at %s.", name, prev.set.DeclRange)))
			continue
		}
		content, diags := b.Body.Content(syscallSetSchema)
		l.addAll(diags)
		d := &setDecl{set: &SyscallSet{Name: name, DeclRange: b.DefRange}}
		l.sets[name] = d
		l.cfg.SyscallSets = append(l.cfg.SyscallSets, d.set)
		if attr, ok := content.Attributes["syscalls"]; ok {
			d.raw = l.readSyscalls(attr.Expr, l.evalCtx(nil), name)
		}
	}
}

// Name returns s as a block's name (what validName accepts), for
// configurations written from other names (a unit's, a policy file's):
// each character other than an ASCII letter, digit, `_` or `-` becomes
// `_`, and a name that does not start with a letter gets a `_` first.
func Name(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "_" + s
	}
	return s
}

// validName reports whether a block's label is an identifier, as names
// that are referenced must be.
func (l *loader) validName(b *hcl.Block, kind string) bool {
	if hclsyntax.ValidIdentifier(b.Labels[0]) {
		return true
	}
	l.add(errorAt(b.LabelRanges[0], "Invalid "+kind+" name",
		fmt.Sprintf("%q is not a valid name: a name starts with a letter or underscore and has only letters, digits, underscores and dashes.", b.Labels[0])))
	return false
}

// readSyscalls reads a syscalls attribute: a list of syscall names and
// syscall_set.NAME references, or a single reference. set is the
// syscall_set being read, "" for a rule.
func (l *loader) readSyscalls(expr hcl.Expression, ctx *hcl.EvalContext, set string) []rawSyscall {
	if items, diags := hcl.ExprList(expr); !diags.HasErrors() {
		out := make([]rawSyscall, 0, len(items))
		for _, item := range items {
			out = append(out, l.syscallItem(item, ctx, set)...)
		}
		return out
	}
	return l.syscallItem(expr, ctx, set)
}

// syscallItem reads one item of a syscalls list.
func (l *loader) syscallItem(x hcl.Expression, ctx *hcl.EvalContext, set string) []rawSyscall {
	native, isNative := x.(hclsyntax.Expression)
	if t, ok := native.(*hclsyntax.ScopeTraversalExpr); ok && isNative {
		switch root := t.Traversal.RootName(); root {
		case "syscall_set":
			name, ok := l.setRefName(t.Traversal, t.SrcRange)
			if !ok {
				return nil
			}
			return []rawSyscall{{setName: name, rng: t.SrcRange}}
		case "var", "local":
		default:
			if len(t.Traversal) == 1 {
				l.add(errorAt(t.SrcRange, "Syscall name without quotes",
					fmt.Sprintf("Syscall names are strings: write %q, in quotes, or syscall_set.NAME for a set.", root)))
			} else {
				l.add(errorAt(t.SrcRange, "Invalid syscalls item",
					"A syscalls list holds syscall names in quotes (\"write\") and syscall_set.NAME references."))
			}
			return nil
		}
	}
	if t, ok := native.(*hclsyntax.TemplateExpr); ok && isNative && t.IsStringLiteral() {
		// "write": the parser made its value already; evaluating it
		// again was a tenth of what export spent on a long list.
		if v := t.Parts[0].(*hclsyntax.LiteralValueExpr).Val; v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			return l.syscallName(v.AsString(), x.Range(), set)
		}
	}
	val, ok := l.eval(x, ctx)
	if !ok {
		return nil
	}
	rng := x.Range()
	if val.IsNull() {
		l.add(errorAt(rng, "Invalid syscalls item", "A syscall name is expected, not null."))
		return nil
	}
	if val.Type().Equals(cty.String) {
		s := val.AsString()
		if !isNative {
			if name, isRef := strings.CutPrefix(s, setPrefix); isRef {
				return []rawSyscall{{setName: name, rng: rng}}
			}
		}
		return l.syscallName(s, rng, set)
	}
	ty := val.Type()
	if !(ty.IsListType() || ty.IsSetType() || ty.IsTupleType()) {
		l.add(errorAt(rng, "Invalid syscalls item",
			fmt.Sprintf("A syscall name is expected, and this is %s.", describe(val))))
		return nil
	}
	var out []rawSyscall
	for it := val.ElementIterator(); it.Next(); {
		_, v := it.Element()
		if v.IsNull() || !v.Type().Equals(cty.String) {
			l.add(errorAt(rng, "Invalid syscalls item",
				fmt.Sprintf("A list of syscall names is expected, and it holds %s.", describe(v))))
			return nil
		}
		out = append(out, l.syscallName(v.AsString(), rng, set)...)
	}
	return out
}

// setRefName reads syscall_set.NAME.
func (l *loader) setRefName(t hcl.Traversal, rng hcl.Range) (string, bool) {
	if len(t) == 2 {
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			return a.Name, true
		}
	}
	l.add(errorAt(rng, "Invalid syscall_set reference", "A set is referenced as syscall_set.NAME."))
	return "", false
}

// syscallName checks the spelling of a syscall name; whether it exists is
// decided per architecture later.
func (l *loader) syscallName(s string, rng hcl.Range, set string) []rawSyscall {
	if !isSyscallName(s) {
		l.add(errorAt(rng, "Invalid syscall name",
			fmt.Sprintf("%q is not a syscall name: syscall names have only lower-case letters, digits and underscores, such as \"accept4\".", s)))
		return nil
	}
	return []rawSyscall{{ref: SyscallRef{Name: s, Set: set, Range: rng}, rng: rng}}
}

func isSyscallName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// resolveSyscallSets expands the sets, then the pending rule lists.
func (l *loader) resolveSyscallSets() {
	for _, s := range l.cfg.SyscallSets {
		if d := l.sets[s.Name]; d != nil && d.set == s {
			l.expandSet(d, nil)
		}
	}
	for _, p := range l.pending {
		refs, _ := l.expand(p.raw, nil)
		refs = uniqueSyscalls(refs)
		if len(refs) == 0 && (p.broken || len(p.raw) > 0) {
			continue // the items had errors, already reported
		}
		if len(refs) == 0 {
			l.add(errorAt(p.rng, "No syscalls", fmt.Sprintf("%s names no syscall; name at least one.", p.what)))
			continue
		}
		*p.dst = refs
	}
}

// expandSet expands a set, reporting a cycle through stack.
func (l *loader) expandSet(d *setDecl, stack []string) ([]SyscallRef, bool) {
	switch d.state {
	case 2:
		return d.set.Syscalls, d.ok
	case 1:
		return nil, false // reported by the caller that closes the cycle
	}
	d.state = 1
	refs, ok := l.expand(d.raw, append(stack, d.set.Name))
	d.set.Syscalls = uniqueSyscalls(refs)
	d.state, d.ok = 2, ok
	return d.set.Syscalls, ok
}

// expand replaces set references by the sets' syscalls.
func (l *loader) expand(raw []rawSyscall, stack []string) ([]SyscallRef, bool) {
	out := make([]SyscallRef, 0, len(raw))
	ok := true
	for _, r := range raw {
		if r.setName == "" {
			out = append(out, r.ref)
			continue
		}
		d, found := l.sets[r.setName]
		if !found {
			l.add(errorAt(r.rng, "Unknown syscall_set",
				fmt.Sprintf("No syscall_set %q is declared.%s", r.setName, spelling.DidYouMean(r.setName, slices.Sorted(maps.Keys(l.sets))))))
			ok = false
			continue
		}
		if d.state == 1 {
			path := append(append([]string(nil), stack...), r.setName)
			for i := range path {
				path[i] = setPrefix + path[i]
			}
			l.add(errorAt(r.rng, "Cycle in syscall sets",
				fmt.Sprintf("The syscall sets include each other in a circle: %s. Break the cycle.", strings.Join(path, " -> "))))
			ok = false
			continue
		}
		refs, good := l.expandSet(d, stack)
		out = append(out, refs...)
		ok = ok && good
	}
	return out, ok
}

// uniqueSyscalls drops repeated names, keeping the first.
func uniqueSyscalls(refs []SyscallRef) []SyscallRef {
	seen := make(map[string]bool, len(refs))
	out := make([]SyscallRef, 0, len(refs))
	for _, r := range refs {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	return out
}
