package suggest

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"functionName", "runtime", "code", "handler", "timeout", "memorySize", "environmentVariables", "vpcConfig"}
	tests := []struct {
		word string
		want string
	}{
		{"timout", "timeout"},                          // a letter left out
		{"tiemout", "timeout"},                         // two letters swapped
		{"Timeout", "timeout"},                         // case only
		{"memmorySize", "memorySize"},                  // a letter added
		{"runtim", "runtime"},                          // short word, one edit
		{"fuctionName", "functionName"},                // long word
		{"enviromentVariable", "environmentVariables"}, // two edits in a long word
		{"cdoe", "code"},                               // a swap in a four-letter word
		{"xyz", ""},                                    // nothing close
		{"memSize", ""},                                // three edits in a seven-letter word: too far
		{"vpc", ""},                                    // a prefix is not a typo
		{"", ""},
		{"timeout", ""}, // the word itself is not a suggestion
	}
	for _, tt := range tests {
		if got := Closest(tt.word, keys); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	if got := Closest("custom.debain10", []string{"custom", "custom.debian10", "custom.debian11", "custom.debian12"}); got != "custom.debian10" {
		t.Errorf("runtime: got %q, want custom.debian10", got)
	}
	// Ties go to the first known word.
	if got := Closest("ab", []string{"ac", "ad"}); got != "ac" {
		t.Errorf("tie: got %q, want ac", got)
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := distance(tt.b, tt.a); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}
