package auth_test

import (
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/fcsign"
)

// The first node stores the admin mark; a node with the same admin key
// passes; one with another secret, or another id, is refused with a
// message naming both ids and what to set.
func TestCheckSharedAdmin(t *testing.T) {
	ctx, _, st := storetest.Open(t)
	first := fcsign.Credentials{AccessKeyID: "LTAIadmin1", AccessKeySecret: "secret-one"}
	if err := auth.CheckSharedAdmin(ctx, st, first); err != nil {
		t.Fatalf("first node: %v", err)
	}
	if err := auth.CheckSharedAdmin(ctx, st, first); err != nil {
		t.Fatalf("a node with the same admin key: %v", err)
	}
	for name, c := range map[string]fcsign.Credentials{
		"another secret": {AccessKeyID: "LTAIadmin1", AccessKeySecret: "secret-two"},
		"another id":     {AccessKeyID: "LTAIadmin2", AccessKeySecret: "secret-one"},
	} {
		err := auth.CheckSharedAdmin(ctx, st, c)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		for _, want := range []string{c.AccessKeyID, "LTAIadmin1", auth.EnvAccessKeyID, auth.EnvAccessKeySecret} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %s", name, err, want)
			}
		}
	}
}
