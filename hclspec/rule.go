package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/policy"
)

var ruleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "syscalls", Required: true},
		{Name: "when"},
		{Name: "action"},
		{Name: "arch"},
	},
}

// decodeRules reads a service's rule blocks. Their syscall lists are
// completed by resolveSyscallSets.
func (l *loader) decodeRules(s *Service, blocks []*hcl.Block, ctx *hcl.EvalContext) {
	sc := &valueScope{ctx: ctx, what: "a condition", fds: []string{}}
	for _, fd := range s.Fds {
		sc.fds = append(sc.fds, fd.Name)
	}
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, "rule") {
			continue
		}
		if prev, dup := seen[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate rule",
				fmt.Sprintf("The service %q already has a rule named %q, at %s. Rule names must be unique within a service.",
					s.Name, name, prev)))
			continue
		}
		seen[name] = b.DefRange
		content, diags := b.Body.Content(ruleSchema)
		l.addAll(diags)
		r := &Rule{Name: name, Action: ActionSpec{Kind: policy.Allow, Range: b.DefRange}, DeclRange: b.DefRange}
		if a, ok := content.Attributes["syscalls"]; ok {
			before := len(l.diags)
			raw := l.readSyscalls(a.Expr, ctx, "")
			l.pending = append(l.pending, pendingList{
				raw:    raw,
				broken: len(l.diags) > before,
				rng:    a.Expr.Range(),
				dst:    &r.Syscalls,
				what:   fmt.Sprintf("The rule %q", name),
			})
		}
		if a, ok := content.Attributes["when"]; ok {
			r.When = l.readWhen(a.Expr, sc)
			if r.When == nil {
				// Reported; a broken condition never holds, so that a
				// caller ignoring the errors cannot allow too much.
				r.When = BoolLit{V: false, Rng: a.Expr.Range()}
			}
		}
		if a, ok := content.Attributes["action"]; ok {
			if act, ok := l.readAction(a.Expr, ctx, useRule); ok {
				r.Action = act
			}
		}
		if a, ok := content.Attributes["arch"]; ok {
			r.Arch = l.readArchList(a, ctx)
			r.ArchRange = a.Expr.Range()
		}
		s.Rules = append(s.Rules, r)
	}
}
