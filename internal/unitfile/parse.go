// Package unitfile reads systemd unit files the way systemd 252 does: the
// INI-like syntax with continuation lines, the ExecStart= command-line
// syntax, which unit file and drop-ins the manager loads for a unit name
// (its name map of unit files and aliases, and the drop-in search order),
// and what it takes to run an ExecStart= command through another program
// (fencer's loader) without changing what the program receives.
//
// The parser is deliberately as lenient as systemd: what systemd ignores
// with a warning is recorded in File.Warnings; only what makes systemd
// refuse the file is an error.
package unitfile

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// whitespace is systemd's WHITESPACE: the characters strstrip() removes and
// extract_first_word() separates words at.
const whitespace = " \t\n\r"

// Entry is one assignment of a unit file.
type Entry struct {
	// Section is the name of the section the assignment is in, without
	// brackets ("Service").
	Section string
	// Key is the setting's name, Value its value with surrounding
	// whitespace removed. Continuation lines are joined the way systemd
	// joins them: the trailing backslash becomes a space.
	Key, Value string
	// Line is the (1-based) line the assignment starts on.
	Line int
}

// File is a parsed unit file or drop-in.
type File struct {
	// Path is the file's name, as given to Parse.
	Path string
	// Entries are the assignments in file order.
	Entries []Entry
	// Warnings are lines systemd ignores with a warning ("path:line:
	// message").
	Warnings []string
}

// Parse reads a unit file or drop-in. Comment lines start with # or ; after
// optional whitespace (also in the middle of a continued line); a line that
// ends in an unescaped backslash continues on the next line; blank lines
// end a continuation. The only error is a malformed section header, which
// makes systemd refuse the whole file.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	text := string(data)
	text = strings.TrimPrefix(text, "\ufeff")

	var (
		section      string
		inSection    bool
		continuation strings.Builder
		continuing   bool
		startLine    int
	)
	warn := func(line int, format string, args ...any) {
		f.Warnings = append(f.Warnings, fmt.Sprintf("%s:%d: %s", path, line, fmt.Sprintf(format, args...)))
	}
	logical := func(line int, l string) error {
		l = strings.Trim(l, whitespace)
		if l == "" {
			return nil
		}
		if !utf8.ValidString(l) {
			warn(line, "invalid UTF-8, ignoring line")
			return nil
		}
		if l[0] == '[' {
			if l[len(l)-1] != ']' {
				return fmt.Errorf("%s:%d: invalid section header %q", path, line, l)
			}
			section, inSection = l[1:len(l)-1], true
			return nil
		}
		if !inSection {
			warn(line, "assignment outside of section, ignoring")
			return nil
		}
		eq := strings.IndexByte(l, '=')
		if eq < 0 {
			warn(line, "missing '=', ignoring line")
			return nil
		}
		if eq == 0 {
			warn(line, "missing key name before '=', ignoring line")
			return nil
		}
		f.Entries = append(f.Entries, Entry{
			Section: section,
			Key:     strings.Trim(l[:eq], whitespace),
			Value:   strings.Trim(l[eq+1:], whitespace),
			Line:    line,
		})
		return nil
	}

	lines := splitLines(text)
	for i, raw := range lines {
		line := i + 1
		if t := strings.TrimLeft(raw, whitespace); t != "" && (t[0] == '#' || t[0] == ';') {
			// Comments are skipped even inside a continuation, as
			// systemd does.
			continue
		}
		if !continuing {
			startLine = line
			continuation.Reset()
		}
		continuation.WriteString(raw)
		p := continuation.String()
		if endsInEscape(p) {
			continuation.Reset()
			continuation.WriteString(p[:len(p)-1])
			continuation.WriteByte(' ')
			continuing = true
			continue
		}
		continuing = false
		if err := logical(startLine, p); err != nil {
			return nil, err
		}
	}
	if continuing {
		if err := logical(startLine, continuation.String()); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// splitLines splits text at the line ends systemd's read_line() accepts:
// "\n", "\r\n", "\r" and NUL. A final line without an end is kept.
func splitLines(text string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n', 0:
			lines = append(lines, text[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, text[start:i])
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(text) {
		lines = append(lines, text[start:])
	}
	return lines
}

// endsInEscape reports whether s ends in a backslash that is not itself
// escaped (systemd's continuation test, which scans the whole logical line).
func endsInEscape(s string) bool {
	escaped := false
	for i := 0; i < len(s); i++ {
		if escaped {
			escaped = false
		} else if s[i] == '\\' {
			escaped = true
		}
	}
	return escaped
}

// Values returns the values assigned to key in section, in order, with
// systemd's list semantics: an empty assignment drops everything before it.
func (f *File) Values(section, key string) []string {
	var out []string
	for _, e := range f.Entries {
		if e.Section != section || e.Key != key {
			continue
		}
		if e.Value == "" {
			out = nil
			continue
		}
		out = append(out, e.Value)
	}
	return out
}
