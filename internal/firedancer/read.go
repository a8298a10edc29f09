package firedancer

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// MaxSize is the largest policy file Parse reads: Firedancer's are a few
// kilobytes.
const MaxSize = 1 << 20

// segment is a physical line within a logical one.
type segment struct {
	logical int // offset of the line's first byte in the logical line
	file    int // offset of that byte in the file
	line    int // 1-based line number
}

// logicalLine is a policy line with its continuation lines appended, as
// the generator joins them, and where each part came from.
type logicalLine struct {
	text string
	segs []segment
	doc  []string // comment lines before it and between its parts
}

// source positions logical offsets in the file.
type source struct {
	name string
	src  []byte
}

// pos returns the position of offset off of ll.
func (s *source) pos(ll *logicalLine, off int) hcl.Pos {
	i := 0
	for i+1 < len(ll.segs) && ll.segs[i+1].logical <= off {
		i++
	}
	sg := ll.segs[i]
	b := sg.file + off - sg.logical
	if b > len(s.src) {
		b = len(s.src)
	}
	return hcl.Pos{Line: sg.line, Column: utf8.RuneCount(s.src[sg.file:b]) + 1, Byte: b}
}

// rng returns the range of [from, to) of ll.
func (s *source) rng(ll *logicalLine, from, to int) hcl.Range {
	return hcl.Range{Filename: s.name, Start: s.pos(ll, from), End: s.pos(ll, to)}
}

func (s *source) errorAt(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}

// logicalLines splits src as the generator does: comment lines dropped
// (kept as documentation of the next line), lines that start with a space
// or a tab appended to the one before, then each stripped of surrounding
// whitespace and blank ones dropped. Trailing comments are returned too.
func logicalLines(src []byte) (lines []*logicalLine, trailer []string) {
	var out []*logicalLine
	var doc []string
	off, n := 0, 0
	for off < len(src) {
		end := off
		for end < len(src) && src[end] != '\n' {
			end++
		}
		if end < len(src) {
			end++ // the newline belongs to the line, as with readlines
		}
		n++
		raw := string(src[off:end])
		switch {
		case strings.HasPrefix(strings.TrimLeftFunc(raw, unicode.IsSpace), "#"):
			doc = append(doc, commentText(raw))
		case (raw[0] == ' ' || raw[0] == '\t') && len(out) > 0:
			last := out[len(out)-1]
			last.segs = append(last.segs, segment{logical: len(last.text), file: off, line: n})
			last.text += raw
			last.doc = append(last.doc, doc...)
			doc = nil
		default:
			out = append(out, &logicalLine{text: raw, segs: []segment{{file: off, line: n}}, doc: doc})
			doc = nil
		}
		off = end
	}
	// A blank line is a logical line of its own: its comments, and a
	// paragraph break, go to the next line that says something.
	var carry []string
	for _, ll := range out {
		if strings.TrimSpace(ll.text) == "" {
			if carry = append(carry, ll.doc...); len(carry) > 0 && carry[len(carry)-1] != "" {
				carry = append(carry, "")
			}
			continue
		}
		ll.doc = trimBlank(append(carry, ll.doc...))
		carry = nil
		lines = append(lines, ll)
	}
	return lines, trimBlank(append(carry, doc...))
}

// commentText is a comment line without its `#` and one space after it,
// and without trailing blanks.
func commentText(raw string) string {
	t := strings.TrimSpace(raw)
	t = strings.TrimPrefix(t, "#")
	t = strings.TrimPrefix(t, " ")
	return strings.TrimRightFunc(t, unicode.IsSpace)
}

// trimBlank drops empty comment lines at both ends.
func trimBlank(doc []string) []string {
	for len(doc) > 0 && doc[0] == "" {
		doc = doc[1:]
	}
	for len(doc) > 0 && doc[len(doc)-1] == "" {
		doc = doc[:len(doc)-1]
	}
	return doc
}

// trimmed returns the offsets of ll's text without surrounding whitespace.
func (ll *logicalLine) trimmed() (from, to int) {
	from, to = 0, len(ll.text)
	for from < to {
		r, size := utf8.DecodeRuneInString(ll.text[from:])
		if !unicode.IsSpace(r) {
			break
		}
		from += size
	}
	for to > from {
		r, size := utf8.DecodeLastRuneInString(ll.text[from:to])
		if !unicode.IsSpace(r) {
			break
		}
		to -= size
	}
	return from, to
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	syscallRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// Parse reads a policy. name is the file's name for diagnostics; the
// policy's Name is its base name without .seccomppolicy. Every mistake is
// an error diagnostic with its range; Parse never panics.
func Parse(name string, src []byte) (*Policy, hcl.Diagnostics) {
	s := &source{name: name, src: src}
	p := &Policy{Name: strings.TrimSuffix(filepath.Base(name), ".seccomppolicy"), Filename: name}
	whole := hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
	if len(src) > MaxSize {
		return nil, hcl.Diagnostics{s.errorAt(whole, "Policy too large",
			fmt.Sprintf("%s has %d bytes; a policy may have at most %d.", name, len(src), MaxSize))}
	}
	if !utf8.Valid(src) {
		return nil, hcl.Diagnostics{s.errorAt(whole, "Invalid UTF-8", name+" is not UTF-8 text.")}
	}
	lines, trailer := logicalLines(src)
	p.Trailer = trailer
	if len(lines) == 0 {
		return nil, hcl.Diagnostics{s.errorAt(whole, "Empty policy",
			"A policy starts with its signature line, `noarg` or `uint name, ...`, followed by one line per syscall.")}
	}
	diags := s.signature(p, lines[0])
	seen := map[string]hcl.Range{}
	for _, ll := range lines[1:] {
		sc, d := s.entry(ll, p)
		diags = append(diags, d...)
		if sc == nil {
			continue
		}
		if prev, dup := seen[sc.Name]; dup {
			diags = append(diags, s.errorAt(sc.Range, "Duplicate syscall",
				fmt.Sprintf("%s is listed twice; the first is at line %d. Firedancer's generator refuses this.", sc.Name, prev.Start.Line)))
			continue
		}
		seen[sc.Name] = sc.Range
		p.Syscalls = append(p.Syscalls, *sc)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return p, diags
}

// signature reads the signature line into p.
func (s *source) signature(p *Policy, ll *logicalLine) hcl.Diagnostics {
	from, to := ll.trimmed()
	text := ll.text[from:to]
	p.Doc = trimBlank(ll.doc)
	p.SigRange = s.rng(ll, from, to)
	if text == "noarg" {
		p.NoArg = true
		return nil
	}
	if !strings.ContainsAny(text, " \t") || strings.Contains(text, ":") {
		return hcl.Diagnostics{s.errorAt(p.SigRange, "Malformed signature",
			"The first line that is not a comment is the signature: `noarg`, or the parameters as `uint name, uint other`.")}
	}
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	off := from
	for _, part := range strings.Split(text, ",") {
		start, end := off, off+len(part)
		off = end + 1
		prm, d := s.param(ll, part, start, end)
		if d != nil {
			diags = append(diags, d)
			continue
		}
		if seen[prm.Name] {
			diags = append(diags, s.errorAt(prm.Range, "Duplicate parameter", fmt.Sprintf("Parameter %q is declared twice.", prm.Name)))
			continue
		}
		seen[prm.Name] = true
		p.Params = append(p.Params, prm)
	}
	return diags
}

// param reads one `uint name` of the signature, at [start, end) of ll.
func (s *source) param(ll *logicalLine, part string, start, end int) (Param, *hcl.Diagnostic) {
	fields := strings.Fields(part)
	rng := s.rng(ll, start, end)
	if len(fields) < 2 {
		return Param{}, s.errorAt(rng, "Malformed parameter", fmt.Sprintf("A parameter is `uint name`, not %q.", strings.TrimSpace(part)))
	}
	name := strings.Trim(fields[len(fields)-1], "*")
	typ := strings.Join(fields[:len(fields)-1], " ")
	// `unsigned int` is what policies said before the generator of 2025
	// required `uint` (the files in the corpus's historical/ use it).
	if typ != "uint" && typ != "unsigned int" {
		return Param{}, s.errorAt(rng, "Invalid parameter type", fmt.Sprintf("Parameters are `uint`, not %q.", typ))
	}
	if !identRE.MatchString(name) {
		return Param{}, s.errorAt(rng, "Invalid parameter name", fmt.Sprintf("%q is not a C identifier.", name))
	}
	nameStart := start + strings.LastIndex(part, fields[len(fields)-1])
	return Param{Name: name, Range: s.rng(ll, nameStart, nameStart+len(fields[len(fields)-1]))}, nil
}

// entry reads one syscall line.
func (s *source) entry(ll *logicalLine, p *Policy) (*Syscall, hcl.Diagnostics) {
	from, to := ll.trimmed()
	text := ll.text[from:to]
	colon := strings.IndexByte(text, ':')
	nameEnd := to
	if colon >= 0 {
		nameEnd = from + colon
	}
	nf, nt := from, nameEnd
	for nt > nf && unicode.IsSpace(rune(ll.text[nt-1])) {
		nt--
	}
	sc := &Syscall{Name: ll.text[nf:nt], Doc: trimBlank(ll.doc), Range: s.rng(ll, nf, nt)}
	if !syscallRE.MatchString(sc.Name) {
		return nil, hcl.Diagnostics{s.errorAt(sc.Range, "Invalid syscall name",
			fmt.Sprintf("%q is not a syscall name. A line is `name` or `name: (expression)`.", sc.Name))}
	}
	if colon < 0 {
		return sc, nil
	}
	node, diags := s.parseSexpr(ll, from+colon+1, to)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &condReader{s: s, params: p.params(), syscall: sc.Name}
	sc.Cond = c.cond(node)
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return sc, nil
}

// params returns the set of parameter names.
func (p *Policy) params() map[string]bool {
	m := map[string]bool{}
	for _, prm := range p.Params {
		m[prm.Name] = true
	}
	return m
}
