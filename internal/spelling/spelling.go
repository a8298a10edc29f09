// Package spelling suggests what a misspelled name was meant to be: the
// one "did you mean" of fencer, for the language's names (syscalls,
// constants, attributes, variables, ...) and the command line's (commands,
// services, units).
package spelling

import (
	"fmt"
	"sort"
	"strings"
)

// Nearest returns the candidate nearest to name by Damerau-Levenshtein
// distance (optimal string alignment: insertions, deletions, substitutions
// and transpositions of adjacent letters each cost 1), ignoring case. It
// returns "" if candidates is empty or the nearest is farther than
// max(2, len(name)/3): the threshold, for every suggestion fencer makes.
// Ties go to the lexically smallest candidate, so the result does not
// depend on the order of candidates.
func Nearest(name string, candidates []string) string {
	limit := max(2, len([]rune(name))/3)
	lname := []rune(strings.ToLower(name))
	best, bestDist := "", limit+1
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := osaDistance(lname, []rune(strings.ToLower(c)), bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// osaDistance is the optimal string alignment distance between a and b. It
// may stop early and return any value >= bound once the distance is known to
// reach bound.
func osaDistance(a, b []rune, bound int) int {
	if d := len(a) - len(b); d >= bound || -d >= bound {
		return bound
	}
	// Three rows: i-2, i-1, i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= bound {
			return bound
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// DidYouMean is ` Did you mean "X"?` for the candidate Nearest finds,
// "" when none is near.
func DidYouMean(name string, candidates []string) string {
	if n := Nearest(name, candidates); n != "" {
		return fmt.Sprintf(" Did you mean %q?", n)
	}
	return ""
}
