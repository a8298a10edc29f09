package hclspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// EnvPrefix is the prefix of environment variables that set variables.
const EnvPrefix = "FENCER_VAR_"

// varDecl is a declared variable while its value is being decided.
type varDecl struct {
	v       *Variable
	ty      cty.Type // cty.DynamicPseudoType when untyped or any
	literal bool     // -var and FENCER_VAR_ values are strings, not expressions
	value   cty.Value
	set     bool // value holds a value
	failed  bool // a source was invalid: already reported
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
	},
}

// decodeVariables reads the variable blocks, then applies the sources in
// Terraform's order: default < FENCER_VAR_* < -var-file < -var.
func (l *loader) decodeVariables(blocks []*hcl.Block) {
	for _, b := range blocks {
		l.decodeVariable(b)
	}
	l.applyEnv()
	for _, path := range l.opts.VarFiles {
		l.applyVarFile(path)
	}
	for _, opt := range l.opts.Vars {
		l.applyVarOption(opt)
	}
	for _, name := range l.varOrder {
		d := l.vars[name]
		if !d.set && !d.failed {
			l.add(errorAt(d.v.DeclRange, "No value for required variable",
				fmt.Sprintf("The variable %q has no default and no value was given. Set it with -var='%s=VALUE', "+
					"in a -var-file, or with the environment variable %s%s, or give it a default.",
					name, name, EnvPrefix, name)))
			d.value = cty.DynamicVal
			continue
		}
		if d.failed {
			d.value = cty.DynamicVal
			continue
		}
		d.v.Value = goValue(d.value)
	}
}

func (l *loader) decodeVariable(b *hcl.Block) {
	name := b.Labels[0]
	rng := b.DefRange
	if !hclsyntax.ValidIdentifier(name) {
		l.add(errorAt(b.LabelRanges[0], "Invalid variable name",
			fmt.Sprintf("%q is not a valid name: a name starts with a letter or underscore and has only letters, digits, underscores and dashes.", name)))
		return
	}
	if prev, dup := l.vars[name]; dup {
		l.add(errorAt(b.LabelRanges[0], "Duplicate variable",
			fmt.Sprintf("A variable named %q was already declared at %s. Variable names must be unique.", name, prev.v.DeclRange)))
		return
	}
	content, diags := b.Body.Content(variableSchema)
	l.addAll(diags)
	d := &varDecl{
		v:       &Variable{Name: name, DeclRange: rng},
		ty:      cty.DynamicPseudoType,
		literal: true,
		value:   cty.DynamicVal,
	}
	l.vars[name] = d
	l.varOrder = append(l.varOrder, name)
	l.cfg.Variables = append(l.cfg.Variables, d.v)

	if attr, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(attr.Expr)
		l.addAll(diags)
		if !diags.HasErrors() {
			d.ty = ty
			d.v.Type = typeexpr.TypeString(ty)
			// As Terraform: values of a primitive type (string, number,
			// bool) and untyped ones are taken as written and converted
			// (-var port=abc: "a number is required"); lists, maps and
			// objects are read as HCL expressions.
			d.literal = ty.IsPrimitiveType() || ty.Equals(cty.DynamicPseudoType)
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		if s, ok := l.evalString(attr.Expr, nil); ok {
			d.v.Description = s
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, diags := attr.Expr.Value(nil)
		l.addAll(diags)
		if diags.HasErrors() {
			d.failed = true
			return
		}
		if val.IsNull() {
			return // null default: a value is required, as Terraform
		}
		conv, err := convert.Convert(val, d.ty)
		if err != nil {
			l.add(errorAt(attr.Expr.Range(), "Invalid default value for variable",
				fmt.Sprintf("The default of %q does not match its type %s: %s.", name, typeName(d), err)))
			d.failed = true
			return
		}
		d.value, d.set = conv, true
	}
}

// applyEnv reads FENCER_VAR_name=value entries for declared variables.
func (l *loader) applyEnv() {
	for _, kv := range l.opts.Environ {
		rest, ok := strings.CutPrefix(kv, EnvPrefix)
		if !ok {
			continue
		}
		name, raw, ok := strings.Cut(rest, "=")
		if !ok {
			continue
		}
		if d, ok := l.vars[name]; ok {
			l.setFromString(d, raw, fmt.Sprintf("<value for var.%s from %s%s>", name, EnvPrefix, name))
		}
	}
}

// applyVarOption applies one -var NAME=VALUE.
func (l *loader) applyVarOption(opt string) {
	pseudo := fmt.Sprintf("<-var %s>", opt)
	l.cfg.Files[pseudo] = &hcl.File{Bytes: []byte(opt)}
	name, raw, ok := strings.Cut(opt, "=")
	whole := pseudoRange(pseudo, opt)
	if !ok {
		l.add(errorAt(whole, "Invalid -var option",
			fmt.Sprintf("The option -var %q is not NAME=VALUE. Write -var='NAME=VALUE'.", opt)))
		return
	}
	d, ok := l.vars[name]
	if !ok {
		l.add(errorAt(pseudoRange(pseudo, name), "Value for undeclared variable",
			fmt.Sprintf("-var sets %q, but no variable of that name is declared: declare it with a variable \"%s\" block.%s",
				name, name, spelling.DidYouMean(name, l.varOrder))))
		return
	}
	l.setFromString(d, raw, fmt.Sprintf("<value for var.%s>", name))
}

// pseudoRange covers text as the first line of a pseudo file.
func pseudoRange(filename, text string) hcl.Range {
	return hcl.Range{Filename: filename, Start: hcl.InitialPos,
		End: hcl.Pos{Line: 1, Column: 1 + len(text), Byte: len(text)}}
}

// setFromString sets d from a -var or environment value: the text itself
// for string and untyped variables, else the text read as an expression.
func (l *loader) setFromString(d *varDecl, raw, pseudo string) {
	l.cfg.Files[pseudo] = &hcl.File{Bytes: []byte(raw)}
	if d.literal {
		l.setValue(d, cty.StringVal(raw), pseudoRange(pseudo, raw))
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), pseudo, hcl.InitialPos)
	l.addAll(diags)
	if diags.HasErrors() {
		d.failed = true
		return
	}
	val, diags := expr.Value(nil)
	l.addAll(diags)
	if diags.HasErrors() {
		d.failed = true
		return
	}
	l.setValue(d, val, expr.Range())
}

// setValue converts val to d's type and makes it d's value.
func (l *loader) setValue(d *varDecl, val cty.Value, rng hcl.Range) {
	conv, err := convert.Convert(val, d.ty)
	if err != nil {
		l.add(errorAt(rng, "Invalid value for variable",
			fmt.Sprintf("The value given for %q does not match its type %s: %s.", d.v.Name, typeName(d), err)))
		d.failed = true
		return
	}
	if conv.IsNull() {
		return // as Terraform: null leaves the earlier value in place
	}
	d.value, d.set = conv, true
}

func typeName(d *varDecl) string {
	if d.v.Type == "" {
		return "any"
	}
	return d.v.Type
}

// applyVarFile applies the NAME = VALUE attributes of a -var-file.
func (l *loader) applyVarFile(path string) {
	src, err := readConfigInput(path, "a -var-file")
	if err != nil {
		l.add(errorAt(hcl.Range{Filename: path}, "Cannot read a -var-file", readError(path, err)+"."))
		return
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = json.Parse(src, path)
	} else {
		f, diags = hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	}
	l.addAll(diags)
	if f == nil || diags.HasErrors() {
		return
	}
	l.cfg.Files[path] = f
	attrs, diags := f.Body.JustAttributes()
	l.addAll(diags)
	for _, attr := range sortedAttrs(attrs) {
		d, ok := l.vars[attr.Name]
		if !ok {
			l.add(warningAt(attr.NameRange, "Value for undeclared variable",
				fmt.Sprintf("The -var-file %s sets %q, but no variable of that name is declared; the value is ignored.%s",
					path, attr.Name, spelling.DidYouMean(attr.Name, l.varOrder))))
			continue
		}
		val, diags := attr.Expr.Value(nil)
		l.addAll(diags)
		if diags.HasErrors() {
			d.failed = true
			continue
		}
		l.setValue(d, val, attr.Expr.Range())
	}
}
