package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// maxArgs is the number of syscall arguments.
const maxArgs = 6

var testSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "service", Required: true},
		{Name: "syscall", Required: true},
		{Name: "args"},
		{Name: "arch"},
		{Name: "expect", Required: true},
	},
}

// decodeTests reads the test blocks; they name services, so they come
// after them.
func (l *loader) decodeTests(blocks []*hcl.Block) {
	services := map[string]*Service{}
	var serviceNames []string
	for _, s := range l.cfg.Services {
		services[s.Name] = s
		serviceNames = append(serviceNames, s.Name)
	}
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, dup := seen[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate test",
				fmt.Sprintf("A test named %q was already declared at %s. Test names must be unique.", name, prev)))
			continue
		}
		seen[name] = b.DefRange
		content, diags := b.Body.Content(testSchema)
		l.addAll(diags)
		t := &Test{Name: name, DeclRange: b.DefRange}
		ctx := l.evalCtx(nil)
		sc := &valueScope{ctx: ctx, what: "a test argument", anyFd: true}
		if a, ok := content.Attributes["service"]; ok {
			if s, ok := l.evalString(a.Expr, ctx); ok {
				t.Service = s
				if svc, found := services[s]; found {
					sc.anyFd, sc.fds = false, []string{}
					for _, fd := range svc.Fds {
						sc.fds = append(sc.fds, fd.Name)
					}
				} else {
					l.add(errorAt(a.Expr.Range(), "Unknown service",
						fmt.Sprintf("No service named %q is declared.%s", s, spelling.DidYouMean(s, serviceNames))))
				}
			}
		}
		if a, ok := content.Attributes["syscall"]; ok {
			if s, ok := l.evalString(a.Expr, ctx); ok {
				if isSyscallName(s) {
					t.Syscall = SyscallRef{Name: s, Range: a.Expr.Range()}
				} else {
					l.syscallName(s, a.Expr.Range(), "")
				}
			}
		}
		if a, ok := content.Attributes["args"]; ok {
			t.Args = l.testArgs(a.Expr, sc)
		}
		if a, ok := content.Attributes["arch"]; ok {
			t.Arch = l.readArchList(a, ctx)
			t.ArchRange = a.Expr.Range()
		}
		if a, ok := content.Attributes["expect"]; ok {
			if act, ok := l.readAction(a.Expr, ctx, useExpect); ok {
				t.Expect = act
			}
		}
		l.cfg.Tests = append(l.cfg.Tests, t)
	}
}

// testArgs reads args: a list of at most six values, read as syntax like
// the values of a condition, or var./local. holding a list of numbers.
func (l *loader) testArgs(expr hcl.Expression, sc *valueScope) []Value {
	x, ok := l.syntax(expr)
	if !ok {
		return nil
	}
	var out []Value
	switch e := unparen(x).(type) {
	case *hclsyntax.TupleConsExpr:
		if len(e.Exprs) > maxArgs {
			l.add(errorAt(e.Exprs[maxArgs].Range(), "Too many arguments",
				fmt.Sprintf("A syscall has at most six arguments, and this test gives %d. Remove the extra ones.", len(e.Exprs))))
			return nil
		}
		for _, item := range e.Exprs {
			if v := l.readValue(item, sc); v != nil {
				out = append(out, v)
			}
		}
	case *hclsyntax.ScopeTraversalExpr:
		root := e.Traversal.RootName()
		if root != "var" && root != "local" {
			l.add(errorAt(e.SrcRange, "List expected", "args is a list of up to six values: [2, fd.logfile]."))
			return nil
		}
		vals, ok := l.listTraversal(e, sc)
		if !ok {
			return nil
		}
		if len(vals) > maxArgs {
			l.add(errorAt(e.SrcRange, "Too many arguments",
				fmt.Sprintf("A syscall has at most six arguments, and %s holds %d.", traversalString(e.Traversal), len(vals))))
			return nil
		}
		out = vals
	default:
		l.add(errorAt(x.Range(), "List expected", "args is a list of up to six values: [2, fd.logfile]."))
	}
	return out
}
