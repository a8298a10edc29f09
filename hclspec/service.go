package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// Enforcement modes of a service.
const (
	EnforceExec    = "exec"
	EnforceSystemd = "systemd"
)

var serviceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "unit", Required: true},
		{Name: "unit_file"},
		{Name: "exec_start"},
		{Name: "hosts"},
		{Name: "default_action"},
		{Name: "enforce"},
		{Name: "arch"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "fd", LabelNames: []string{"name"}},
		{Type: "rule", LabelNames: []string{"name"}},
	},
}

// decodeServices reads the service blocks.
func (l *loader) decodeServices(blocks []*hcl.Block) {
	names := map[string]hcl.Range{}
	units := map[string]*Service{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, "service") {
			continue
		}
		if prev, dup := names[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate service",
				fmt.Sprintf("A service named %q was already declared at %s. Service names must be unique.", name, prev)))
			continue
		}
		names[name] = b.DefRange
		s, unitRange := l.decodeService(b)
		if s.Unit != "" {
			if prev, dup := units[s.Unit]; dup {
				l.add(errorAt(unitRange, "Unit in two services",
					fmt.Sprintf("The services %q and %q both name %s; one unit has one policy. Merge the two services.",
						prev.Name, s.Name, s.Unit)))
			} else {
				units[s.Unit] = s
			}
		}
		l.cfg.Services = append(l.cfg.Services, s)
	}
}

// decodeService reads one service block; it also returns the range of
// its unit attribute.
func (l *loader) decodeService(b *hcl.Block) (*Service, hcl.Range) {
	s := &Service{
		Name:          b.Labels[0],
		DefaultAction: ActionSpec{Kind: policy.KillProcess, Range: b.DefRange},
		Enforce:       EnforceExec,
		DeclRange:     b.DefRange,
	}
	content, diags := b.Body.Content(serviceSchema)
	l.addAll(diags)
	ctx := l.evalCtx(nil)
	var unitRange hcl.Range
	if a, ok := content.Attributes["unit"]; ok {
		unitRange = a.Expr.Range()
		if u, ok := l.evalString(a.Expr, ctx); ok {
			if problem := serviceUnitProblem(u); problem != "" {
				l.add(errorAt(a.Expr.Range(), "Invalid unit name", problem+"."))
			} else {
				s.Unit = u
			}
		}
	}
	if a, ok := content.Attributes["unit_file"]; ok {
		s.UnitFile, _ = l.evalOptString(a.Expr, ctx, "unit_file")
	}
	s.Hosts = l.serviceHosts(content.Attributes["hosts"], ctx)
	if a, ok := content.Attributes["arch"]; ok {
		s.Arch = l.readArchList(a, ctx)
		s.ArchRange = a.Expr.Range()
		l.checkHostArches(s, content.Attributes["hosts"] != nil)
	}
	if a, ok := content.Attributes["default_action"]; ok {
		if act, ok := l.readAction(a.Expr, ctx, useDefault); ok {
			s.DefaultAction = act
		}
	}
	if a, ok := content.Attributes["enforce"]; ok {
		if e, ok := l.evalString(a.Expr, ctx); ok {
			if e != EnforceExec && e != EnforceSystemd {
				l.add(errorAt(a.Expr.Range(), "Invalid enforce",
					fmt.Sprintf("enforce is %q (the default: argument conditions enforced by fencer's loader) or %q (systemd's SystemCallFilter=, syscall names only), not %q.%s",
						EnforceExec, EnforceSystemd, e, spelling.DidYouMean(e, []string{EnforceExec, EnforceSystemd}))))
			} else {
				s.Enforce = e
			}
		}
	}
	if a, ok := content.Attributes["exec_start"]; ok {
		s.ExecStart, _ = l.evalOptString(a.Expr, ctx, "exec_start")
		if s.ExecStart != nil {
			if p := execStartProblem(*s.ExecStart, s.Enforce == EnforceExec); p != "" {
				l.add(errorAt(a.Expr.Range(), "Invalid exec_start", p))
			}
		}
	}
	var fdBlocks, ruleBlocks []*hcl.Block
	for _, blk := range content.Blocks {
		if blk.Type == "fd" {
			fdBlocks = append(fdBlocks, blk)
		} else {
			ruleBlocks = append(ruleBlocks, blk)
		}
	}
	l.decodeFds(s, fdBlocks, ctx)
	l.decodeRules(s, ruleBlocks, ctx)
	l.checkRuleArches(s)
	return s, unitRange
}

// serviceHosts reads hosts: each names a host or a host block (for_each
// group); absent means every host.
func (l *loader) serviceHosts(a *hcl.Attribute, ctx *hcl.EvalContext) []string {
	var known []string
	isKnown := map[string]bool{}
	for _, h := range l.cfg.Hosts {
		for _, n := range []string{h.Group, h.Name} {
			if !isKnown[n] {
				isKnown[n] = true
				known = append(known, n)
			}
		}
	}
	for g := range l.hostGroups {
		if !isKnown[g] {
			isKnown[g] = true
			known = append(known, g)
		}
	}
	if a == nil {
		var all []string
		for _, h := range l.cfg.Hosts {
			all = append(all, h.Name)
		}
		return all
	}
	items, _ := l.evalStringList(a.Expr, ctx, "hosts")
	out := []string{}
	for _, it := range items {
		if !isKnown[it.S] {
			l.add(errorAt(it.Rng, "Unknown host",
				fmt.Sprintf("No host named %q is declared; hosts names host blocks, or instances of one such as edge[\"edge-1\"].%s",
					it.S, spelling.DidYouMean(it.S, known))))
			continue
		}
		out = append(out, it.S)
	}
	return out
}

// ServiceHosts returns the hosts s is planned on: the instances its hosts
// attribute names, directly or by their host block, in configuration order.
func (c *Config) ServiceHosts(s *Service) []*Host {
	want := map[string]bool{}
	for _, n := range s.Hosts {
		want[n] = true
	}
	var out []*Host
	for _, h := range c.Hosts {
		if want[h.Name] || want[h.Group] {
			out = append(out, h)
		}
	}
	return out
}
