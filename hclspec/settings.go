package hclspec

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// configIDMax is the longest configuration id.
const configIDMax = 64

var settingsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "id"}},
}

// ConfigIDProblem says what is wrong with id as a configuration's id, ""
// when nothing is: 1 to 64 of the characters A-Z a-z 0-9 . _ - @ +, not
// starting with a dot. The id is written into the header of every file
// fencer installs, and is what tells its files from another
// configuration's.
func ConfigIDProblem(id string) string {
	switch {
	case id == "":
		return "the id is empty"
	case len(id) > configIDMax:
		return fmt.Sprintf("an id has at most %d characters, and %q has %d", configIDMax, id, len(id))
	case id[0] == '.':
		return fmt.Sprintf("%q starts with a dot", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == '+') {
			return fmt.Sprintf("%q has the character %q: an id has only letters, digits and the characters . _ - @ +", id, c)
		}
	}
	return ""
}

// parsedConfigID is the id of a configuration Parse reads from memory
// that does not set one: it has no directory to be named after.
const parsedConfigID = "parsed"

// defaultConfigID is the id of a configuration that does not set one: the
// name of its directory (Load), parsedConfigID for Parse.
func defaultConfigID(dir string) string {
	if dir == "" {
		return parsedConfigID
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return filepath.Base(abs)
}

// decodeSettings reads the fencer block, of which there is at most one:
// the configuration's own settings.
func (l *loader) decodeSettings(blocks []*hcl.Block) {
	l.cfg.ID = defaultConfigID(l.dir)
	if len(blocks) > 0 {
		for _, b := range blocks[1:] {
			l.add(errorAt(b.DefRange, "Duplicate fencer block",
				fmt.Sprintf("A configuration has one fencer block, and one is at %s.", blocks[0].DefRange)))
		}
		content, diags := blocks[0].Body.Content(settingsSchema)
		l.addAll(diags)
		if attr, ok := content.Attributes["id"]; ok {
			val, ok := l.evalAs(attr.Expr, l.evalCtx(nil), cty.String, "id", false)
			if !ok {
				l.cfg.ID = ""
				return
			}
			if p := ConfigIDProblem(val.AsString()); p != "" {
				l.add(errorAt(attr.Expr.Range(), "Invalid configuration id", p+"."))
				l.cfg.ID = ""
				return
			}
			l.cfg.ID, l.cfg.IDRange = val.AsString(), attr.Expr.Range()
			return
		}
	}
	if l.cfg.ID != "" && ConfigIDProblem(l.cfg.ID) != "" {
		// Said when planning, which needs the id; validate and test
		// do not.
		l.cfg.IDProblem = fmt.Sprintf("the configuration's id is the name of its directory unless a fencer block sets one, and %s: set one with fencer { id = \"...\" }", ConfigIDProblem(l.cfg.ID))
		l.cfg.ID = ""
	}
}

// ServiceUnitProblem says what is wrong with name as the name of a service
// unit, "" when nothing is (see the service block's unit).
func ServiceUnitProblem(name string) string { return serviceUnitProblem(name) }
