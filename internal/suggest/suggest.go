// Package suggest finds the known word closest to a mistyped one, for
// "did you mean …?" hints in error messages (s.yaml keys, runtimes, paths).
package suggest

import "strings"

// Closest returns the word of known closest to word, or "" when none is
// close enough to be a likely typo. Case is ignored, and swapping two
// neighbouring letters counts as one edit: "Timeout", "timout" and "tiemout"
// all give "timeout". The allowed distance grows with the word's length
// (a third of it, from 1 to 3 edits), so short words only match near
// misses. Among equally close words the first in known wins, which keeps
// hints stable.
func Closest(word string, known []string) string {
	if word == "" {
		return ""
	}
	limit := min(max(len(word)/3, 1), 3)
	best, bestDist := "", limit+1
	lw := strings.ToLower(word)
	for _, k := range known {
		if k == word {
			continue
		}
		if d := distance(lw, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes each cost one.
func distance(a, b string) int {
	// Three rows suffice: the transposition looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
