package hclspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// decodeLocals reads every locals block and evaluates the values in
// dependency order; a cycle is reported once, on the value that closes it.
func (l *loader) decodeLocals(blocks []*hcl.Block) {
	l.localDefs = map[string]*hcl.Attribute{}
	var order []string
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		l.addAll(diags)
		for _, attr := range sortedAttrs(attrs) {
			if prev, dup := l.localDefs[attr.Name]; dup {
				l.add(errorAt(attr.NameRange, "Duplicate local value",
					fmt.Sprintf("A local value named %q was already defined at %s. Local value names must be unique.",
						attr.Name, prev.NameRange)))
				continue
			}
			l.localDefs[attr.Name] = attr
			order = append(order, attr.Name)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			i := len(stack) - 1
			for i > 0 && stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			for k := range cycle {
				cycle[k] = "local." + cycle[k]
			}
			l.add(errorAt(l.localDefs[name].NameRange, "Cycle in local values",
				fmt.Sprintf("The local values refer to each other in a circle: %s. Break the cycle.",
					strings.Join(cycle, " -> "))))
			for _, n := range stack[i:] {
				l.locals[n] = cty.DynamicVal
				state[n] = done
			}
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		attr := l.localDefs[name]
		for _, t := range attr.Expr.Variables() {
			if dep := localRef(t); dep != "" {
				if _, ok := l.localDefs[dep]; ok {
					visit(dep)
				}
			}
		}
		stack = stack[:len(stack)-1]
		if state[name] == done { // part of a reported cycle
			return
		}
		state[name] = done
		val, ok := l.eval(attr.Expr, l.evalCtx(nil))
		if !ok {
			val = cty.DynamicVal
		}
		l.locals[name] = val
	}
	for _, name := range order {
		visit(name)
	}
}

// localRef is NAME for a local.NAME traversal, else "".
func localRef(t hcl.Traversal) string {
	if t.RootName() != "local" || len(t) < 2 {
		return ""
	}
	if a, ok := t[1].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}
