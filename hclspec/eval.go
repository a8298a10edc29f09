package hclspec

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// evalCtx is the context attributes are evaluated in: var.*, local.* and
// the functions. each, when not nil, is each.key/each.value of a for_each
// instance.
func (l *loader) evalCtx(each *cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for name, d := range l.vars {
		vars[name] = d.value
	}
	if l.funcs == nil {
		l.funcs = l.functions()
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(vars),
			"local": cty.ObjectVal(l.locals),
		},
		Functions: l.funcs,
	}
	if each != nil {
		ctx.Variables["each"] = *each
	}
	return ctx
}

// checkRefs reports references to undeclared variables and locals, with
// the nearest declared name.
func (l *loader) checkRefs(expr hcl.Expression) bool {
	ok := true
	for _, t := range expr.Variables() {
		if !l.checkRef(t) {
			ok = false
		}
	}
	return ok
}

// checkRef checks one var.NAME or local.NAME traversal.
func (l *loader) checkRef(t hcl.Traversal) bool {
	if len(t) < 2 {
		return true
	}
	attr, isAttr := t[1].(hcl.TraverseAttr)
	if !isAttr {
		return true
	}
	rng := hcl.RangeBetween(t[0].SourceRange(), t[1].SourceRange())
	switch t.RootName() {
	case "var":
		if _, ok := l.vars[attr.Name]; !ok {
			l.add(errorAt(rng, "Reference to undeclared variable",
				fmt.Sprintf("No variable %q is declared: declare it with a variable \"%s\" block.%s",
					attr.Name, attr.Name, spelling.DidYouMean(attr.Name, l.varOrder))))
			return false
		}
	case "local":
		if _, ok := l.localDefs[attr.Name]; !ok {
			l.add(errorAt(rng, "Reference to undeclared local value",
				fmt.Sprintf("No local value %q is declared in a locals block.%s",
					attr.Name, spelling.DidYouMean(attr.Name, slices.Sorted(maps.Keys(l.localDefs))))))
			return false
		}
	}
	return true
}

// eval evaluates expr in ctx. It reports false, with any problem already
// reported, when there is no usable value: an error, or a value left
// unknown by an earlier error.
func (l *loader) eval(expr hcl.Expression, ctx *hcl.EvalContext) (cty.Value, bool) {
	if !l.checkRefs(expr) {
		return cty.NilVal, false
	}
	val, diags := expr.Value(ctx)
	l.addAll(diags)
	if diags.HasErrors() || !val.IsWhollyKnown() {
		return cty.NilVal, false
	}
	val, _ = val.UnmarkDeep()
	return val, true
}

// evalAs evaluates expr and converts it to ty; null is an error when
// !nullable, and is returned as is otherwise.
func (l *loader) evalAs(expr hcl.Expression, ctx *hcl.EvalContext, ty cty.Type, what string, nullable bool) (cty.Value, bool) {
	val, ok := l.eval(expr, ctx)
	if !ok {
		return cty.NilVal, false
	}
	if val.IsNull() {
		if nullable {
			return val, true
		}
		l.add(errorAt(expr.Range(), "Missing value", fmt.Sprintf("%s must not be null.", what)))
		return cty.NilVal, false
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		l.add(errorAt(expr.Range(), "Invalid value",
			fmt.Sprintf("%s must be a %s: %s.", what, ty.FriendlyName(), err)))
		return cty.NilVal, false
	}
	return conv, true
}

// evalString evaluates a string attribute that must not be null.
func (l *loader) evalString(expr hcl.Expression, ctx *hcl.EvalContext) (string, bool) {
	val, ok := l.evalAs(expr, ctx, cty.String, "This value", false)
	if !ok {
		return "", false
	}
	return val.AsString(), true
}

// evalOptString evaluates a string attribute where null means absent.
func (l *loader) evalOptString(expr hcl.Expression, ctx *hcl.EvalContext, what string) (*string, bool) {
	val, ok := l.evalAs(expr, ctx, cty.String, what, true)
	if !ok || val.IsNull() {
		return nil, ok
	}
	s := val.AsString()
	return &s, true
}

// stringItem is one string of a list, with where it was written.
type stringItem struct {
	S   string
	Rng hcl.Range
}

// evalStringList evaluates a list of strings. Items written in a list
// literal keep their own ranges.
func (l *loader) evalStringList(expr hcl.Expression, ctx *hcl.EvalContext, what string) ([]stringItem, bool) {
	if items, diags := hcl.ExprList(expr); !diags.HasErrors() {
		out := make([]stringItem, 0, len(items))
		ok := true
		for _, item := range items {
			s, good := l.evalStringNamed(item, ctx, what)
			if good {
				out = append(out, stringItem{S: s, Rng: item.Range()})
			}
			ok = ok && good
		}
		return out, ok
	}
	val, ok := l.evalAs(expr, ctx, cty.List(cty.String), what, false)
	if !ok {
		return nil, false
	}
	var out []stringItem
	for it := val.ElementIterator(); it.Next(); {
		_, v := it.Element()
		if v.IsNull() {
			l.add(errorAt(expr.Range(), "Invalid value", fmt.Sprintf("%s must not contain null.", what)))
			return nil, false
		}
		out = append(out, stringItem{S: v.AsString(), Rng: expr.Range()})
	}
	return out, true
}

func (l *loader) evalStringNamed(expr hcl.Expression, ctx *hcl.EvalContext, what string) (string, bool) {
	val, ok := l.evalAs(expr, ctx, cty.String, what, false)
	if !ok {
		return "", false
	}
	return val.AsString(), true
}

// wholeNumber reads a known, non-null number as an integer in [min, max].
func wholeNumber(val cty.Value, min, max int64) (int64, error) {
	bf := val.AsBigFloat()
	if !bf.IsInt() {
		return 0, fmt.Errorf("%s is not a whole number", bf.Text('g', -1))
	}
	n, acc := bf.Int64()
	if acc != big.Exact || n < min || n > max {
		return 0, fmt.Errorf("%s is not between %d and %d", bf.Text('f', -1), min, max)
	}
	return n, nil
}

// goValue converts a known value to string, number, bool, []any or
// map[string]any; numbers become int64, uint64 or float64.
func goValue(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty.Equals(cty.String):
		return v.AsString()
	case ty.Equals(cty.Bool):
		return v.True()
	case ty.Equals(cty.Number):
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if n, acc := bf.Int64(); acc == big.Exact {
				return n
			}
			if n, acc := bf.Uint64(); acc == big.Exact {
				return n
			}
		}
		f, _ := bf.Float64()
		return f
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return nil
}

// sortedAttrs returns attrs in source order.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}
