package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// actionKinds are the action names without data.
var actionKinds = map[string]policy.ActionKind{
	"allow":        policy.Allow,
	"log":          policy.Log,
	"trap":         policy.Trap,
	"kill_thread":  policy.KillThread,
	"kill_process": policy.KillProcess,
}

// actionSpellings lists the actions in messages and suggestions.
var actionSpellings = []string{"allow", "log", "trap", "kill_thread", "kill_process", "errno"}

// actionHints are words from other tools and what fencer calls them.
var actionHints = map[string]string{
	"kill": "kill_process", "deny": "errno(EPERM)", "accept": "allow", "permit": "allow",
	"notify": "trap", "audit": "log", "kill_proc": "kill_process",
}

// actionUse is where an action is written.
type actionUse uint8

const (
	useRule actionUse = iota
	// useDefault is default_action, which may not be allow.
	useDefault
	// useExpect is a test's expect, which may also be exec_once, the
	// verdict of execve under exec once.
	useExpect
)

// execOnceName is the spelling of policy.ExecOnce, a verdict no rule can
// give.
const execOnceName = "exec_once"

// readAction reads an action, written bare (kill_process), as a string
// ("kill_process"), or as a call (errno(EPERM), trap(1)); a string may also
// come from a variable. allow is refused in default_action, exec_once
// anywhere but in a test's expect.
func (l *loader) readAction(expr hcl.Expression, ctx *hcl.EvalContext, use actionUse) (ActionSpec, bool) {
	x, ok := l.syntax(expr)
	if !ok {
		return ActionSpec{}, false
	}
	return l.action(x, ctx, use, true)
}

// action reads action syntax; unwrap allows one level of string or
// variable holding the action's text.
func (l *loader) action(x hclsyntax.Expression, ctx *hcl.EvalContext, use actionUse, unwrap bool) (ActionSpec, bool) {
	rng := x.Range()
	switch e := x.(type) {
	case *hclsyntax.ParenthesesExpr:
		return l.action(e.Expression, ctx, use, unwrap)
	case *hclsyntax.TemplateExpr, *hclsyntax.TemplateWrapExpr, *hclsyntax.ScopeTraversalExpr:
		if t, ok := e.(*hclsyntax.ScopeTraversalExpr); ok {
			root := t.Traversal.RootName()
			if len(t.Traversal) == 1 && root != "var" && root != "local" {
				return l.actionName(root, rng, use)
			}
			if root != "var" && root != "local" {
				break
			}
		}
		if !unwrap {
			break
		}
		text, start, ok := l.actionText(x, ctx)
		if !ok {
			return ActionSpec{}, false
		}
		inner, diags := hclsyntax.ParseExpression([]byte(text), rng.Filename, start)
		if diags.HasErrors() {
			l.add(l.invalidAction(rng, fmt.Sprintf("%q is not an action.", text)))
			return ActionSpec{}, false
		}
		before := len(l.diags)
		spec, ok := l.action(inner, ctx, use, false)
		if !isLiteral(x) {
			// The text came from a variable: point at the reference.
			for _, d := range l.diags[before:] {
				d.Subject = rng.Ptr()
			}
			switch v := spec.Errno.(type) {
			case ConstRef:
				v.Rng = rng
				spec.Errno = v
			case Number:
				v.Rng = rng
				spec.Errno = v
			}
		}
		spec.Range = rng
		return spec, ok
	case *hclsyntax.FunctionCallExpr:
		return l.actionCall(e, ctx, use)
	}
	l.add(l.invalidAction(rng, "An action is a name, such as kill_process, or errno(EPERM)."))
	return ActionSpec{}, false
}

// isLiteral reports whether x is a string literal without interpolation.
func isLiteral(x hclsyntax.Expression) bool {
	t, ok := x.(*hclsyntax.TemplateExpr)
	return ok && t.IsStringLiteral()
}

// actionText is the text of a string or variable holding an action, and
// where to parse it from: the literal's own position, or the expression's.
func (l *loader) actionText(x hclsyntax.Expression, ctx *hcl.EvalContext) (string, hcl.Pos, bool) {
	if t, ok := x.(*hclsyntax.TemplateExpr); ok && t.IsStringLiteral() && len(t.Parts) == 1 {
		if lit, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type().Equals(cty.String) && !lit.Val.IsNull() {
			return lit.Val.AsString(), lit.SrcRange.Start, true
		}
	}
	s, ok := l.evalString(x, ctx)
	return s, x.Range().Start, ok
}

func (l *loader) invalidAction(rng hcl.Range, why string) *hcl.Diagnostic {
	return errorAt(rng, "Invalid action",
		why+" The actions are allow, log, trap, kill_thread, kill_process and errno(NAME or number).")
}

// actionName reads a bare action name.
func (l *loader) actionName(name string, rng hcl.Range, use actionUse) (ActionSpec, bool) {
	kind, ok := actionKinds[name]
	switch {
	case name == execOnceName && use == useExpect:
		return ActionSpec{Kind: policy.ExecOnce, Range: rng}, true
	case name == execOnceName:
		l.add(errorAt(rng, "exec_once is not an action",
			"exec_once is the verdict execve gets when no rule names it and fencer's loader starts the service: "+
				"the loader's own execve passes and every later one fails with ENOSYS. A test can expect it; a rule or default_action cannot give it. "+
				"To get it, name execve in no rule."))
		return ActionSpec{}, false
	case name == "errno":
		l.add(errorAt(rng, "Missing errno",
			"errno needs the error the syscall returns: errno(EPERM), or a number, errno(1)."))
		return ActionSpec{}, false
	case !ok:
		hint := spelling.DidYouMean(name, actionSpellings)
		if h, known := actionHints[name]; known && hint == "" {
			hint = fmt.Sprintf(" Did you mean %q?", h)
		}
		l.add(errorAt(rng, "Unknown action",
			fmt.Sprintf("There is no action %q: the actions are allow, log, trap, kill_thread, kill_process and errno(NAME).%s", name, hint)))
		return ActionSpec{}, false
	case use == useDefault && kind == policy.Allow:
		l.add(errorAt(rng, "allow is not a default action",
			"A policy that allows every syscall it does not name is not a seccomp policy. Keep a denying default "+
				"(kill_process, kill_thread, trap, log or errno(EPERM)) and allow syscalls with rules; log records what would be denied."))
		return ActionSpec{}, false
	}
	return ActionSpec{Kind: kind, Range: rng}, true
}

// actionCall reads errno(X) and trap(X).
func (l *loader) actionCall(e *hclsyntax.FunctionCallExpr, ctx *hcl.EvalContext, use actionUse) (ActionSpec, bool) {
	var kind policy.ActionKind
	var max uint64
	switch e.Name {
	case "errno":
		kind, max = policy.Errno, policy.MaxErrno
	case "trap":
		kind, max = policy.Trap, uint64(policy.RetData)
	default:
		if _, ok := actionKinds[e.Name]; ok || e.Name == execOnceName {
			l.add(errorAt(e.Range(), "Invalid action", fmt.Sprintf("%s takes no value: write %s.", e.Name, e.Name)))
			return ActionSpec{}, false
		}
		return l.actionName(e.Name, e.NameRange, use)
	}
	if len(e.Args) != 1 || e.ExpandFinal {
		l.add(errorAt(e.Range(), "Wrong number of arguments",
			fmt.Sprintf("%s takes one value, an errno name or a number: %s(EPERM).", e.Name, e.Name)))
		return ActionSpec{}, false
	}
	sc := &valueScope{ctx: ctx, what: "an action"}
	v := l.readValue(e.Args[0], sc)
	switch n := v.(type) {
	case nil:
		return ActionSpec{}, false
	case ConstRef:
	case Number:
		if n.Neg || n.Abs > max {
			l.add(errorAt(n.Rng, "Invalid errno",
				fmt.Sprintf("The value of %s is a number from 0 to %d.", e.Name, max)))
			return ActionSpec{}, false
		}
	default:
		l.add(errorAt(v.Range(), "Invalid errno",
			fmt.Sprintf("%s takes an errno name (EPERM) or a number.", e.Name)))
		return ActionSpec{}, false
	}
	return ActionSpec{Kind: kind, Errno: v, Range: e.Range()}, true
}
