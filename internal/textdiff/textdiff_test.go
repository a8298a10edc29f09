package textdiff

import (
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedGolden(t *testing.T) {
	tests := []struct {
		name    string
		a, b    string
		context int
		want    string
	}{
		{name: "equal", a: "x\ny\n", b: "x\ny\n", context: 3, want: ""},
		{name: "both empty", context: 3, want: ""},
		{
			name: "change in the middle", context: 1,
			a: "1\n2\n3\n4\n5\n", b: "1\n2\nthree\n4\n5\n",
			want: "--- a\n+++ b\n@@ -2,3 +2,3 @@\n 2\n-3\n+three\n 4\n",
		},
		{
			name: "add to empty", context: 3,
			a: "", b: "x\ny\n",
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "delete all", context: 3,
			a: "x\n", b: "",
			want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			name: "insert after first", context: 0,
			a: "1\n2\n", b: "1\nnew\n2\n",
			want: "--- a\n+++ b\n@@ -1,0 +2 @@\n+new\n",
		},
		{
			name: "newline added at end", context: 3,
			a: "x\ny", b: "x\ny\n",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n",
		},
		{
			name: "newline removed at end", context: 0,
			a: "x\ny\n", b: "x\ny",
			want: "--- a\n+++ b\n@@ -2 +2 @@\n-y\n+y\n\\ No newline at end of file\n",
		},
		{
			name: "context line without newline", context: 3,
			a: "a\nz", b: "b\nz",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-a\n+b\n z\n\\ No newline at end of file\n",
		},
		{
			name: "two hunks", context: 1,
			a: "1\n2\n3\n4\n5\n6\n7\n8\n", b: "1\nB\n3\n4\n5\n6\nG\n8\n",
			want: "--- a\n+++ b\n@@ -1,3 +1,3 @@\n 1\n-2\n+B\n 3\n@@ -6,3 +6,3 @@\n 6\n-7\n+G\n 8\n",
		},
		{
			name: "hunks merged when context touches", context: 2,
			a: "1\n2\n3\n4\n5\n6\n7\n8\n", b: "1\nB\n3\n4\n5\n6\nG\n8\n",
			want: "--- a\n+++ b\n@@ -1,8 +1,8 @@\n 1\n-2\n+B\n 3\n 4\n 5\n 6\n-7\n+G\n 8\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("a", "b", []byte(tt.a), []byte(tt.b), tt.context)
			if got != tt.want {
				t.Errorf("Unified:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestRoundTrip applies random diffs back to their input.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		a := randomText(rng)
		b := mutate(rng, a)
		context := rng.Intn(5)
		d := Unified("a", "b", []byte(a), []byte(b), context)
		if (d == "") != (a == b) {
			t.Fatalf("a=%q b=%q: diff %q", a, b, d)
		}
		got, err := apply(a, d)
		if err != nil {
			t.Fatalf("a=%q b=%q context=%d: %v\n%s", a, b, context, err, d)
		}
		if got != b {
			t.Fatalf("a=%q b=%q context=%d: applying gives %q\n%s", a, b, context, got, d)
		}
	}
}

// TestMinimal checks that the edit script is as short as a longest common
// subsequence allows.
func TestMinimal(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 3000; i++ {
		a := splitLines(randomText(rng))
		b := splitLines(mutate(rng, strings.Join(a, "")))
		ops := diffLines(a, b)
		edits := 0
		for _, o := range ops {
			if o.kind != opEqual {
				edits++
			} else if a[o.ai] != b[o.bi] {
				t.Fatalf("%q vs %q: equal op on different lines", a, b)
			}
		}
		if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
			t.Fatalf("%q vs %q: %d edits, want %d", a, b, edits, want)
		}
	}
}

func TestLarge(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := Unified("a", "b", []byte(a.String()), []byte(b.String()), 3)
	got, err := apply(a.String(), d)
	if err != nil || got != b.String() {
		t.Fatalf("disjoint files do not round-trip: %v", err)
	}
}

func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] > cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// randomText is a few lines from a small alphabet, so that lines repeat,
// sometimes without a final newline.
func randomText(rng *rand.Rand) string {
	n := rng.Intn(12)
	if rng.Intn(5) == 0 {
		n = rng.Intn(80)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(string(rune('a' + rng.Intn(4))))
		b.WriteByte('\n')
	}
	s := b.String()
	if s != "" && rng.Intn(4) == 0 {
		s = s[:len(s)-1]
	}
	return s
}

// mutate inserts, deletes and changes lines of s, and sometimes its final
// newline.
func mutate(rng *rand.Rand, s string) string {
	lines := splitLines(s)
	for k := rng.Intn(5) + rng.Intn(2)*rng.Intn(30); k > 0; k-- {
		i := rng.Intn(len(lines) + 1)
		line := string(rune('a'+rng.Intn(6))) + "\n"
		switch rng.Intn(3) {
		case 0:
			lines = append(lines[:i], append([]string{line}, lines[i:]...)...)
		case 1:
			if i < len(lines) {
				lines = append(lines[:i], lines[i+1:]...)
			}
		case 2:
			if i < len(lines) {
				lines[i] = line
			}
		}
	}
	out := strings.Join(lines, "")
	if rng.Intn(5) == 0 {
		if strings.HasSuffix(out, "\n") {
			out = out[:len(out)-1]
		} else {
			out += "\n"
		}
	}
	return out
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// apply is patch(1) for the diffs Unified writes: every context and
// deleted line must match a exactly.
func apply(a, diff string) (string, error) {
	if diff == "" {
		return a, nil
	}
	src := splitLines(a)
	dl := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(dl) < 2 || !strings.HasPrefix(dl[0], "--- ") || !strings.HasPrefix(dl[1], "+++ ") {
		return "", fmt.Errorf("bad headers")
	}
	var out []string
	next := 0 // next line of src to copy
	i := 2
	for i < len(dl) {
		m := hunkHeader.FindStringSubmatch(dl[i])
		if m == nil {
			return "", fmt.Errorf("line %d: not a hunk header: %q", i+1, dl[i])
		}
		aStart, _ := strconv.Atoi(m[1])
		aCount, bCount := 1, 1
		if m[2] != "" {
			aCount, _ = strconv.Atoi(m[2])
		}
		if m[4] != "" {
			bCount, _ = strconv.Atoi(m[4])
		}
		first := aStart - 1
		if aCount == 0 {
			first = aStart
		}
		if first < next || first > len(src) {
			return "", fmt.Errorf("hunk %q out of order", dl[i])
		}
		out = append(out, src[next:first]...)
		next = first
		i++
		seenA, seenB := 0, 0
		for i < len(dl) && !strings.HasPrefix(dl[i], "@@") {
			if dl[i] == "" {
				return "", fmt.Errorf("line %d is empty", i+1)
			}
			kind, line := dl[i][0], dl[i][1:]+"\n"
			if i+1 < len(dl) && dl[i+1] == `\ No newline at end of file` {
				line = dl[i][1:]
				i++
			}
			switch kind {
			case ' ':
				if next >= len(src) || src[next] != line {
					return "", fmt.Errorf("context %q does not match", line)
				}
				out = append(out, line)
				next++
				seenA++
				seenB++
			case '-':
				if next >= len(src) || src[next] != line {
					return "", fmt.Errorf("deleted %q does not match", line)
				}
				next++
				seenA++
			case '+':
				out = append(out, line)
				seenB++
			default:
				return "", fmt.Errorf("bad line %q", dl[i])
			}
			i++
		}
		if seenA != aCount || seenB != bCount {
			return "", fmt.Errorf("hunk counts %d,%d, lines %d,%d", aCount, bCount, seenA, seenB)
		}
	}
	out = append(out, src[next:]...)
	return strings.Join(out, ""), nil
}
