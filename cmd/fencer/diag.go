package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

// sources finds the parsed files diagnostics point into, for their
// snippets: those the configuration holds, and any other file (a var file,
// or every file when loading stopped early) read and parsed from disk the
// first time a diagnostic names it.
type sources struct {
	files map[string]*hcl.File
}

func newSources(cfg *hclspec.Config) *sources {
	s := &sources{files: map[string]*hcl.File{}}
	if cfg != nil {
		for name, f := range cfg.Files {
			if f != nil {
				s.files[name] = f
			}
		}
	}
	return s
}

// file returns the file called name, or nil when it cannot be read.
func (s *sources) file(name string) *hcl.File {
	if f, ok := s.files[name]; ok {
		return f
	}
	s.files[name] = nil
	// Only what the configuration could have read: a FIFO, a device or a
	// huge file named by a diagnostic (one refused as -var-file=/dev/zero)
	// gets no snippet rather than a hang.
	src, err := readlimit.File(name, hclspec.MaxFileBytes, "a configuration file")
	if err != nil {
		return nil
	}
	p := hclparse.NewParser()
	var f *hcl.File
	if strings.HasSuffix(name, ".json") {
		f, _ = p.ParseJSON(src, name)
	} else {
		f, _ = p.ParseHCL(src, name)
	}
	if f == nil || f.Bytes == nil {
		// Enough for the snippet, without the block context.
		f = &hcl.File{Bytes: src}
	}
	s.files[name] = f
	return f
}

// load makes sure every file diags name is known.
func (s *sources) load(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Subject != nil && d.Subject.Filename != "" {
			s.file(d.Subject.Filename)
		}
	}
}

// printDiags writes diags to stderr in HCL's text format, in color when
// stderr is a terminal and -no-color was not given. The line that names
// where each one is also names the column.
func (c *cli) printDiags(src *sources, diags hcl.Diagnostics) {
	if c.compactWarnings {
		diags = c.printCompactWarnings(diags)
	}
	if len(diags) == 0 {
		return
	}
	src.load(diags)
	color := !c.noColor && isTerminal(c.stderr) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	width := uint(0)
	if color {
		width = terminalWidth(c.stderr)
	}
	files := map[string]*hcl.File{}
	for name, f := range src.files {
		if f != nil {
			files[name] = f
		}
	}
	for _, d := range diags {
		d = located(d)
		var buf bytes.Buffer
		w := hcl.NewDiagnosticTextWriter(&buf, files, width, color)
		if err := w.WriteDiagnostic(d); err != nil {
			fmt.Fprintf(c.stderr, "Error: %s\n\n%s\n\n", d.Summary, d.Detail)
			continue
		}
		c.stderr.Write(withColumn(buf.Bytes(), d))
	}
}

// located returns d without its subject when the subject names a file or
// directory but no place in it (line 0), which the writer would print as
// "line 0" with no source.
func located(d *hcl.Diagnostic) *hcl.Diagnostic {
	if d.Subject == nil || d.Subject.Start.Line > 0 {
		return d
	}
	dd := *d
	dd.Subject, dd.Context = nil, nil
	return &dd
}

// withColumn adds the column to the "  on FILE line N" line HCL's writer
// prints for d, which names only the line.
func withColumn(text []byte, d *hcl.Diagnostic) []byte {
	if d.Subject == nil {
		return text
	}
	at := fmt.Sprintf("\n  on %s line %d", d.Subject.Filename, d.Subject.Start.Line)
	i := bytes.Index(text, []byte(at))
	if i < 0 {
		return text
	}
	i += len(at)
	var out bytes.Buffer
	out.Write(text[:i])
	fmt.Fprintf(&out, ", column %d", d.Subject.Start.Column)
	out.Write(text[i:])
	return out.Bytes()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// terminalWidth returns the width of the terminal w is, 0 when unknown.
func terminalWidth(w io.Writer) uint {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return uint(ws.Col)
}

// countDiags returns the number of errors and warnings in diags.
func countDiags(diags hcl.Diagnostics) (errs, warnings int) {
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			errs++
		case hcl.DiagWarning:
			warnings++
		}
	}
	return errs, warnings
}

// printCompactWarnings writes the warnings among diags as Terraform's
// -compact-warnings does, a summary and a place each, and returns the
// other diagnostics.
func (c *cli) printCompactWarnings(diags hcl.Diagnostics) hcl.Diagnostics {
	var rest hcl.Diagnostics
	var b strings.Builder
	for _, d := range diags {
		if d.Severity != hcl.DiagWarning {
			rest = append(rest, d)
			continue
		}
		if b.Len() == 0 {
			b.WriteString("Warnings:\n\n")
		}
		fmt.Fprintf(&b, "- %s\n", d.Summary)
		if d.Subject != nil && d.Subject.Start.Line > 0 {
			fmt.Fprintf(&b, "  on %s line %d, column %d\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString("\nTo see the full warning notes, run fencer without -compact-warnings.\n\n")
		fmt.Fprint(c.stderr, b.String())
	}
	return rest
}
