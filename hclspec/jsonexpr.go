package hclspec

import (
	"bytes"
	"encoding/json"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// syntax returns expr as native syntax, for the attributes read as syntax
// rather than evaluated (when, actions, test args). Native expressions are
// returned as they are. In HCL's JSON syntax a string holds the
// expression, which is parsed at the string's position; arrays become
// tuples of their converted items; numbers, true, false and null are read
// as written.
func (l *loader) syntax(expr hcl.Expression) (hclsyntax.Expression, bool) {
	if x, ok := expr.(hclsyntax.Expression); ok {
		return x, true
	}
	rng := expr.Range()
	raw := l.source(rng)
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		l.add(errorAt(rng, "Unsupported expression", "An expression was expected here."))
		return nil, false
	}
	switch trimmed[0] {
	case '"':
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			l.add(errorAt(rng, "Invalid JSON string", err.Error()))
			return nil, false
		}
		start := rng.Start
		start.Byte++
		start.Column++
		x, diags := hclsyntax.ParseExpression([]byte(s), rng.Filename, start)
		l.addAll(diags)
		return x, !diags.HasErrors()
	case '[':
		items, diags := hcl.ExprList(expr)
		l.addAll(diags)
		if diags.HasErrors() {
			return nil, false
		}
		tuple := &hclsyntax.TupleConsExpr{SrcRange: rng, OpenRange: rng}
		ok := true
		for _, item := range items {
			x, good := l.syntax(item)
			if good {
				tuple.Exprs = append(tuple.Exprs, x)
			}
			ok = ok && good
		}
		return tuple, ok
	case '{':
		l.add(errorAt(rng, "Unsupported expression",
			"A JSON object cannot be read here: write the expression as a string."))
		return nil, false
	}
	x, diags := hclsyntax.ParseExpression(trimmed, rng.Filename, rng.Start)
	l.addAll(diags)
	return x, !diags.HasErrors()
}
