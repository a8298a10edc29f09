package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// value is one JSON value with its source range, read through HCL's JSON
// parser so that every part of a profile keeps its line and column.
type value struct {
	expr hcl.Expression
	rng  hcl.Range
}

type exprMapper interface{ ExprMap() []hcl.KeyValuePair }
type exprLister interface{ ExprList() []hcl.Expression }

// reader collects the diagnostics of reading one profile.
type reader struct {
	diags hcl.Diagnostics
}

func (r *reader) errorf(rng hcl.Range, summary, format string, args ...any) {
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr(),
	})
}

// field is one member of a JSON object.
type field struct {
	key    string
	keyRng hcl.Range
	val    value
}

// object reads v as a JSON object whose keys are among known (compared
// as encoding/json does, without regard to case); an unknown key is an
// error naming the nearest known one, since a misspelt key would
// silently drop a condition. what names the object in messages.
func (r *reader) object(v value, what string, known []string) (map[string]field, bool) {
	m, ok := v.expr.(exprMapper)
	pairs := []hcl.KeyValuePair(nil)
	if ok {
		pairs = m.ExprMap()
	}
	if pairs == nil {
		r.errorf(v.rng, "Object expected", "%s is a JSON object ({...}).", what)
		return nil, false
	}
	out := map[string]field{}
	for _, p := range pairs {
		kv, _ := p.Key.Value(nil)
		key := kv.AsString()
		canon := ""
		for _, k := range known {
			if strings.EqualFold(k, key) {
				canon = k
				break
			}
		}
		if canon == "" {
			r.errorf(p.Key.Range(), "Unknown key",
				"%s has no key %q: its keys are %s.%s", what, key, strings.Join(known, ", "), spelling.DidYouMean(key, known))
			continue
		}
		if prev, dup := out[canon]; dup {
			r.errorf(p.Key.Range(), "Duplicate key", "%s has %q already, at %s.", what, canon, prev.keyRng)
			continue
		}
		out[canon] = field{key: canon, keyRng: p.Key.Range(), val: value{expr: p.Value, rng: p.Value.Range()}}
	}
	return out, true
}

// isNull reports whether v is JSON's null, which encoding/json reads as
// the field's zero value.
func isNull(v value) bool {
	if _, ok := v.expr.(exprMapper); ok {
		if v.expr.(exprMapper).ExprMap() != nil {
			return false
		}
	}
	if l, ok := v.expr.(exprLister); ok && l.ExprList() != nil {
		return false
	}
	val, diags := v.expr.Value(nil)
	return !diags.HasErrors() && val.IsNull()
}

// list reads v as a JSON array (null is an empty one).
func (r *reader) list(v value, what string) []value {
	if isNull(v) {
		return nil
	}
	l, ok := v.expr.(exprLister)
	var items []hcl.Expression
	if ok {
		items = l.ExprList()
	}
	if items == nil {
		r.errorf(v.rng, "Array expected", "%s is a JSON array ([...]).", what)
		return nil
	}
	out := make([]value, len(items))
	for i, it := range items {
		out[i] = value{expr: it, rng: it.Range()}
	}
	return out
}

// scalar is v's value when it is a string, number or bool.
func (r *reader) scalar(v value, want cty.Type, what, example string) (cty.Value, bool) {
	if m, ok := v.expr.(exprMapper); ok && m.ExprMap() != nil {
		r.errorf(v.rng, "Wrong type", "%s is %s, such as %s, not an object.", what, typeName(want), example)
		return cty.NilVal, false
	}
	if l, ok := v.expr.(exprLister); ok && l.ExprList() != nil {
		r.errorf(v.rng, "Wrong type", "%s is %s, such as %s, not an array.", what, typeName(want), example)
		return cty.NilVal, false
	}
	val, diags := v.expr.Value(nil)
	if diags.HasErrors() || val.IsNull() || !val.Type().Equals(want) {
		r.errorf(v.rng, "Wrong type", "%s is %s, such as %s.", what, typeName(want), example)
		return cty.NilVal, false
	}
	return val, true
}

func typeName(t cty.Type) string {
	switch {
	case t.Equals(cty.String):
		return "a string"
	case t.Equals(cty.Number):
		return "a number"
	}
	return "true or false"
}

// str reads a string.
func (r *reader) str(v value, what, example string) (Str, bool) {
	val, ok := r.scalar(v, cty.String, what, example)
	if !ok {
		return Str{}, false
	}
	return Str{V: val.AsString(), Rng: v.rng}, true
}

// num reads a whole number from 0 to max, as encoding/json reads a
// uint64 (or a smaller unsigned type) field.
func (r *reader) num(v value, what string, max uint64) (Num, bool) {
	val, ok := r.scalar(v, cty.Number, what, "1")
	if !ok {
		return Num{}, false
	}
	bf := val.AsBigFloat()
	n, acc := bf.Uint64()
	if bf.Sign() < 0 || acc != big.Exact || !bf.IsInt() || n > max {
		r.errorf(v.rng, "Invalid number", "%s is a whole number from 0 to %d.", what, max)
		return Num{}, false
	}
	return Num{V: n, Rng: v.rng}, true
}

// strList reads an array of strings.
func (r *reader) strList(v value, what, example string) []Str {
	var out []Str
	for _, it := range r.list(v, what) {
		if s, ok := r.str(it, "each item of "+what, example); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseJSON reads src, named name, as one JSON value. encoding/json
// checks the syntax first, as Docker reads a profile with it and its
// errors name the character at fault; HCL's JSON parser then gives every
// value its range.
func parseJSON(name string, src []byte) (value, hcl.Diagnostics) {
	var v any
	if err := json.Unmarshal(src, &v); err != nil {
		var se *json.SyntaxError
		off := len(src)
		if errors.As(err, &se) {
			off = max(int(se.Offset)-1, 0)
		}
		pos := position(src, off)
		return value{}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid JSON",
			Detail: strings.TrimPrefix(err.Error(), "json: ") + ".", Subject: &hcl.Range{Filename: name, Start: pos, End: pos}}}
	}
	expr, diags := hcljson.ParseExpression(src, name)
	if diags.HasErrors() {
		return value{}, diags
	}
	return value{expr: expr, rng: expr.Range()}, diags
}

// position is the line and column of byte offset off of src.
func position(src []byte, off int) hcl.Pos {
	off = min(off, len(src))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return hcl.Pos{Line: line, Column: 1 + utf8.RuneCount(src[start:off]), Byte: off}
}
