package main

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
)

// jsonDiagnostic is a diagnostic in Terraform's machine-readable format
// (that of "terraform validate -json").
type jsonDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

// jsonRange is a source range: start inclusive, end exclusive.
type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

// jsonPos is a position: line and column from 1, byte from 0.
type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// jsonSnippet is the source around a diagnostic: whole lines of code
// starting at StartLine, the part to highlight as byte offsets into Code,
// and the header of the enclosing block as Context.
type jsonSnippet struct {
	Context              *string     `json:"context"`
	Code                 string      `json:"code"`
	StartLine            int         `json:"start_line"`
	HighlightStartOffset int         `json:"highlight_start_offset"`
	HighlightEndOffset   int         `json:"highlight_end_offset"`
	Values               []jsonValue `json:"values"`
}

// jsonValue is an expression value that helps understand a diagnostic;
// fencer has none to report yet, so the list is always empty.
type jsonValue struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// jsonDiags converts diags, with snippets from src, as Terraform does.
func jsonDiags(src *sources, diags hcl.Diagnostics) []jsonDiagnostic {
	out := []jsonDiagnostic{}
	for _, d := range diags {
		d = located(d)
		jd := jsonDiagnostic{Summary: d.Summary, Detail: d.Detail}
		switch d.Severity {
		case hcl.DiagError:
			jd.Severity = "error"
		case hcl.DiagWarning:
			jd.Severity = "warning"
		default:
			jd.Severity = "unknown"
		}
		if d.Subject != nil {
			r := *d.Subject
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:      jsonPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
			}
			if f := src.file(r.Filename); f != nil {
				jd.Snippet = snippet(f, d)
			}
		}
		out = append(out, jd)
	}
	return out
}

// snippet is the source of d's subject (and context) in f.
func snippet(f *hcl.File, d *hcl.Diagnostic) *jsonSnippet {
	highlight := *d.Subject
	snip := highlight
	if d.Context != nil {
		snip = hcl.RangeOver(snip, *d.Context)
	}
	// An empty range would show nothing: extend it by one byte.
	if snip.Empty() {
		snip.End.Byte++
		snip.End.Column++
	}
	if highlight.Empty() {
		highlight.End.Byte++
		highlight.End.Column++
	}
	s := &jsonSnippet{StartLine: snip.Start.Line, Values: []jsonValue{}}
	if f.Nav != nil {
		if ctx := hcled.ContextString(f, highlight.Start.Byte-1); ctx != "" {
			s.Context = &ctx
		}
	}
	var code bytes.Buffer
	codeStart := -1
	sc := hcl.NewRangeScanner(f.Bytes, highlight.Filename, bufio.ScanLines)
	for sc.Scan() {
		line := sc.Range()
		if !line.Overlaps(snip) {
			continue
		}
		if codeStart < 0 {
			codeStart = line.Start.Byte
		}
		code.Write(line.SliceBytes(f.Bytes))
		code.WriteByte('\n')
	}
	s.Code = strings.TrimSuffix(code.String(), "\n")
	if codeStart < 0 {
		codeStart = 0
	}
	clamp := func(n int) int { return max(0, min(n, len(s.Code))) }
	start := highlight.Start.Byte - codeStart
	s.HighlightStartOffset = clamp(start)
	s.HighlightEndOffset = clamp(start + highlight.End.Byte - highlight.Start.Byte)
	return s
}
