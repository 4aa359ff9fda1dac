package store

import (
	"fmt"
	"testing"
)

func TestProvisionShareSumsToTarget(t *testing.T) {
	for n := 1; n <= 5; n++ {
		live := make([]string, n)
		for i := range live {
			live[i] = fmt.Sprintf("n%d", i+1)
		}
		for target := 0; target <= 11; target++ {
			sum, lo, hi := 0, target, 0
			for _, self := range live {
				s := ProvisionShare(target, live, self, "svc/fn@LATEST")
				sum += s
				lo, hi = min(lo, s), max(hi, s)
			}
			if sum != target || hi-lo > 1 {
				t.Errorf("n=%d target=%d: shares sum to %d, spread %d..%d", n, target, sum, lo, hi)
			}
		}
	}
}

func TestProvisionShareExamples(t *testing.T) {
	live := []string{"n1", "n2", "n3"}
	for _, self := range live {
		if got := ProvisionShare(3, live, self, "s/f@LATEST"); got != 1 {
			t.Errorf("3 over 3 nodes: %s runs %d, want 1", self, got)
		}
	}
	if got := ProvisionShare(3, live, "n4", "s/f@LATEST"); got != 0 {
		t.Errorf("a node not live runs %d, want 0", got)
	}
	if got := ProvisionShare(3, nil, "n1", "s/f@LATEST"); got != 0 {
		t.Errorf("no live nodes: %d, want 0", got)
	}
	// Two nodes left of three: 2 and 1.
	a, b := ProvisionShare(3, live[:2], "n1", "s/f@LATEST"), ProvisionShare(3, live[:2], "n2", "s/f@LATEST")
	if a+b != 3 || max(a, b) != 2 {
		t.Errorf("3 over 2 nodes: %d/%d, want 2/1", a, b)
	}
}

// The remainders of different functions land on different nodes.
func TestProvisionShareRotatesRemainders(t *testing.T) {
	live := []string{"n1", "n2", "n3"}
	got := map[string]bool{}
	for i := range 30 {
		fn := fmt.Sprintf("svc/f%d@LATEST", i)
		for _, self := range live {
			if ProvisionShare(1, live, self, fn) == 1 {
				got[self] = true
			}
		}
	}
	if len(got) != 3 {
		t.Errorf("a target of 1 over 30 functions landed on %v only", got)
	}
}
