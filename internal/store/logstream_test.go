package store_test

import (
	"testing"

	"github.com/openfc/openfc/internal/store"
)

func TestLogStreamNamesDoNotCollide(t *testing.T) {
	// FC names may hold '_' and '-': a plain join would make these one.
	pairs := [][2]string{{"a_b", "c"}, {"a", "b_c"}, {"a", "b-c"}, {"a-b", "c"}, {"ab", "c"}, {"a", "bc"}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		name := store.LogStreamName(p[0], p[1])
		if other, dup := seen[name]; dup {
			t.Errorf("%s/%s and %s/%s share the stream %q", p[0], p[1], other[0], other[1], name)
		}
		seen[name] = p
		if subj := store.LogSubject(p[0], p[1]); subj != "openfc.logs."+p[0]+"."+p[1] {
			t.Errorf("subject of %s/%s = %q", p[0], p[1], subj)
		}
	}
}
