package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// row is one line of the goals table.
type row struct {
	work  string
	arch  string
	cells []string // one per compiler column
	goal  string
	met   string
}

// table is the goals table and the notes under it.
type table struct {
	columns []string
	rows    []row
	notes   []string
}

// note adds a line under the table.
func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// write prints t as Markdown.
func (t *table) write(w io.Writer) {
	fmt.Fprintf(w, "| work | arch | %s | goal | met |\n", strings.Join(t.columns, " | "))
	fmt.Fprintf(w, "|---|---|%s---|---|\n", strings.Repeat("---|", len(t.columns)))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.work, r.arch, strings.Join(r.cells, " | "), r.goal, r.met)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// pad fills a row of command figures, which only the first columns have,
// with "—".
func (t *table) pad(cells ...string) []string {
	for len(cells) < len(t.columns) {
		cells = append(cells, "—")
	}
	return cells
}

// yesNo is a goal's verdict.
func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// figureCells formats one figure of every compiler's result on policy i,
// noting why a compiler has none.
func (m *measured) figureCells(i int, format func(result) string, t *table) []string {
	cells := make([]string, len(m.comps))
	for j, r := range m.res[i] {
		if errors.Is(r.err, errNotApplicable) {
			cells[j] = "—"
			continue
		}
		if r.err != nil {
			cells[j] = "n/a"
			t.note("%s cannot compile %s on %s: %v", m.comps[j].name(), m.policies[i].name, m.policies[i].filter.Arch, r.err)
			continue
		}
		cells[j] = format(r)
	}
	return cells
}

// thousands formats n with commas.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
