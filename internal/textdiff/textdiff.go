// Package textdiff computes line-based unified diffs, as diff -u prints
// them, for fmt -diff and for rendering changes to files.
package textdiff

import (
	"fmt"
	"strings"
)

// noNewline is the marker diff prints after a line that ends its file
// without a newline.
const noNewline = "\\ No newline at end of file\n"

// Unified returns the unified diff that turns a into b, with context lines
// of unchanged text around each change (negative means none), under the
// headers "--- aName" and "+++ bName". It returns "" when a and b are
// equal. A final line without a newline is followed by the line
// "\ No newline at end of file", so the diff round-trips exactly.
func Unified(aName, bName string, a, b []byte, context int) string {
	if string(a) == string(b) {
		return ""
	}
	if context < 0 {
		context = 0
	}
	al, bl := splitLines(string(a)), splitLines(string(b))
	ops := diffLines(al, bl)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	for _, h := range hunks(ops, context) {
		writeHunk(&out, h, al, bl)
	}
	return out.String()
}

// splitLines splits s after each newline; the last line lacks one when s
// does not end with a newline.
func splitLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// opKind is what an edit does with a line.
type opKind int8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// op is one line of the edit script: an equal line is at a[ai] and b[bi],
// a deleted one at a[ai], an inserted one at b[bi].
type op struct {
	kind   opKind
	ai, bi int
}

// hunk is a run of ops with its context: ops[lo:hi].
type hunk struct {
	ops []op
}

// hunks groups the changes of ops, each with up to context equal lines
// around it; changes closer than 2*context+1 lines share a hunk.
func hunks(ops []op, context int) []hunk {
	var out []hunk
	i := 0
	for i < len(ops) {
		// Find the next change.
		for i < len(ops) && ops[i].kind == opEqual {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(i-context, 0)
		// Extend while the equal run after a change is short enough to
		// bridge to the next change.
		end := i
		for end < len(ops) {
			for end < len(ops) && ops[end].kind != opEqual {
				end++
			}
			eq := end
			for eq < len(ops) && ops[eq].kind == opEqual {
				eq++
			}
			if eq == len(ops) || eq-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = eq
		}
		out = append(out, hunk{ops: ops[start:end]})
		i = end
	}
	return out
}

// writeHunk prints one hunk: its header in diff's form (a count of 1 is
// left out, an empty side names the line before it) and its lines.
func writeHunk(w *strings.Builder, h hunk, a, b []string) {
	aStart, bStart := -1, -1
	aCount, bCount := 0, 0
	// The first line of each side, or where it would be.
	firstA, firstB := h.ops[0].ai, h.ops[0].bi
	for _, o := range h.ops {
		switch o.kind {
		case opEqual:
			aCount++
			bCount++
			if aStart < 0 {
				aStart = o.ai
			}
			if bStart < 0 {
				bStart = o.bi
			}
		case opDelete:
			aCount++
			if aStart < 0 {
				aStart = o.ai
			}
		case opInsert:
			bCount++
			if bStart < 0 {
				bStart = o.bi
			}
		}
	}
	if aStart < 0 {
		aStart = firstA
	}
	if bStart < 0 {
		bStart = firstB
	}
	fmt.Fprintf(w, "@@ -%s +%s @@\n", hunkRange(aStart, aCount), hunkRange(bStart, bCount))
	for _, o := range h.ops {
		var prefix byte
		var line string
		switch o.kind {
		case opEqual:
			prefix, line = ' ', a[o.ai]
		case opDelete:
			prefix, line = '-', a[o.ai]
		case opInsert:
			prefix, line = '+', b[o.bi]
		}
		w.WriteByte(prefix)
		w.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			w.WriteByte('\n')
			w.WriteString(noNewline)
		}
	}
}

// hunkRange spells a side of a hunk header from its 0-based first line.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		// An empty side names the line after which the other side goes.
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}
