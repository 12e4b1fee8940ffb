// Package suggest finds the known name closest to one a user mistyped, for
// "did you mean" hints in error messages.
package suggest

// Closest returns the name in known closest to got by edit distance, and
// whether it is close enough to suggest (at most max(2, len(got)/3) edits).
func Closest(got string, known []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := distance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best, best != "" && bestD <= max(2, len(got)/3)
}

// distance is the Levenshtein edit distance between a and b (bytes).
func distance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
