package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"

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

// racingMarks is a store where another node's create of the mark is in
// flight and then fails: the mark reads as missing and creates are
// refused as "exists" until refusals run out.
type racingMarks struct {
	mu       sync.Mutex
	refusals int
	mark     *fc.AdminMark
}

func (r *racingMarks) AdminMark(context.Context) (*fc.AdminMark, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mark == nil {
		return nil, fc.ErrNotFound
	}
	return r.mark, nil
}

func (r *racingMarks) CreateAdminMark(_ context.Context, m *fc.AdminMark) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refusals > 0 {
		r.refusals--
		return fc.ErrAlreadyExists
	}
	r.mark = m
	return nil
}

// A create refused because another node's is in flight, which then
// fails: the node looks again and stores its own mark.
func TestCheckSharedAdminOtherCreateFails(t *testing.T) {
	marks := &racingMarks{refusals: 3}
	cred := fcsign.Credentials{AccessKeyID: "LTAIadmin1", AccessKeySecret: "secret-one"}
	if err := auth.CheckSharedAdmin(context.Background(), marks, cred); err != nil {
		t.Fatal(err)
	}
	if marks.mark == nil || marks.mark.AccessKeyID != "LTAIadmin1" {
		t.Fatalf("mark = %+v", marks.mark)
	}
	if err := auth.CheckSharedAdmin(context.Background(), marks, fcsign.Credentials{AccessKeyID: "LTAIadmin1", AccessKeySecret: "other"}); err == nil {
		t.Fatal("another secret was accepted")
	}
}
