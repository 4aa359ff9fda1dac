package launch

import (
	"strconv"
	"strings"
)

// Version is an interpreter's or a runtime name's major.minor.
type Version [2]int

// ParseVersion reads "X.Y" (or "X.Y.Z…", the rest ignored) of digits.
func ParseVersion(s string) (Version, bool) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return Version{}, false
	}
	var v Version
	for i := range v {
		if parts[i] == "" || strings.Trim(parts[i], "0123456789") != "" {
			return Version{}, false
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return Version{}, false
		}
		v[i] = n
	}
	return v, true
}

// Older reports whether v comes before w.
func (v Version) Older(w Version) bool { return v[0] < w[0] || v[0] == w[0] && v[1] < w[1] }
