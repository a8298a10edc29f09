package firedancer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// maxDepth bounds the nesting of an expression, so that a hostile file
// cannot exhaust the stack.
const maxDepth = 100

// node is an s-expression: a list, a bare symbol or a quoted string.
type node struct {
	list   []*node
	isList bool
	atom   string
	quoted bool
	rng    hcl.Range
}

// token is one token of an expression: "(", ")", a symbol or a string.
type token struct {
	text     string
	quoted   bool
	from, to int // offsets in the logical line
}

// tokenize splits ll.text[from:to] as the generator does: blanks separate,
// parentheses are tokens of their own, a string runs from `"` to the next
// unescaped `"` (a backslash takes the next character as it is), and
// anything else runs to the next blank or parenthesis.
func (s *source) tokenize(ll *logicalLine, from, to int) ([]token, *hcl.Diagnostic) {
	var out []token
	i := from
	for i < to {
		r, size := utf8.DecodeRuneInString(ll.text[i:to])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '(' || r == ')':
			out = append(out, token{text: string(r), from: i, to: i + 1})
			i++
		case r == '"':
			t, end, ok := readString(ll.text, i+1, to)
			if !ok {
				return nil, s.errorAt(s.rng(ll, i, to), "Unterminated string", "A quoted constant needs its closing `\"`.")
			}
			out = append(out, token{text: t, quoted: true, from: i, to: end})
			i = end
		default:
			start := i
			for i < to {
				r, size := utf8.DecodeRuneInString(ll.text[i:to])
				if unicode.IsSpace(r) || r == '(' || r == ')' {
					break
				}
				i += size
			}
			out = append(out, token{text: ll.text[start:i], from: start, to: i})
		}
	}
	return out, nil
}

// readString reads a string whose opening quote is just before i; it
// returns the string and the offset after its closing quote.
func readString(text string, i, to int) (string, int, bool) {
	var b strings.Builder
	for i < to {
		switch text[i] {
		case '\\':
			if i+1 >= to {
				return "", 0, false
			}
			_, size := utf8.DecodeRuneInString(text[i+1 : to])
			b.WriteString(text[i+1 : i+1+size])
			i += 1 + size
		case '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(text[i])
			i++
		}
	}
	return "", 0, false
}

// parseSexpr reads the one expression of ll.text[from:to].
func (s *source) parseSexpr(ll *logicalLine, from, to int) (*node, hcl.Diagnostics) {
	toks, d := s.tokenize(ll, from, to)
	if d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if len(toks) == 0 {
		return nil, hcl.Diagnostics{s.errorAt(s.rng(ll, from, to), "Missing expression",
			"After `name:` comes the condition as an s-expression, such as `(eq (arg 0) 2)`; without a condition, write the name alone.")}
	}
	p := &sexprParser{s: s, ll: ll, toks: toks}
	n, d := p.parse(0)
	if d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if p.i < len(toks) {
		t := toks[p.i]
		return nil, hcl.Diagnostics{s.errorAt(s.rng(ll, t.from, toks[len(toks)-1].to), "Extra text after the expression",
			"A line holds one expression; combine several with (and ...) or (or ...).")}
	}
	return n, nil
}

type sexprParser struct {
	s    *source
	ll   *logicalLine
	toks []token
	i    int
}

func (p *sexprParser) parse(depth int) (*node, *hcl.Diagnostic) {
	t := p.toks[p.i]
	if depth > maxDepth {
		return nil, p.s.errorAt(p.s.rng(p.ll, t.from, t.to), "Expression nested too deep",
			fmt.Sprintf("An expression may nest at most %d lists.", maxDepth))
	}
	p.i++
	switch {
	case t.quoted || (t.text != "(" && t.text != ")"):
		return &node{atom: t.text, quoted: t.quoted, rng: p.s.rng(p.ll, t.from, t.to)}, nil
	case t.text == ")":
		return nil, p.s.errorAt(p.s.rng(p.ll, t.from, t.to), "Unexpected `)`", "This `)` closes no list.")
	}
	n := &node{isList: true}
	for p.i < len(p.toks) && (p.toks[p.i].quoted || p.toks[p.i].text != ")") {
		c, d := p.parse(depth + 1)
		if d != nil {
			return nil, d
		}
		n.list = append(n.list, c)
	}
	if p.i >= len(p.toks) {
		return nil, p.s.errorAt(p.s.rng(p.ll, t.from, p.toks[len(p.toks)-1].to), "Unclosed list", "This `(` has no matching `)`.")
	}
	n.rng = p.s.rng(p.ll, t.from, p.toks[p.i].to)
	p.i++
	return n, nil
}

// String renders the node back as an s-expression, for messages.
func (n *node) String() string {
	if !n.isList {
		if n.quoted {
			return fmt.Sprintf("%q", n.atom)
		}
		return n.atom
	}
	parts := make([]string, len(n.list))
	for i, c := range n.list {
		parts[i] = c.String()
	}
	return "(" + strings.Join(parts, " ") + ")"
}
