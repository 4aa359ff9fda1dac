package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// AdminMarks keeps the cluster's admin mark: proof, sealed under the
// admin secret, of which admin key the nodes sharing a store use.
type AdminMarks interface {
	// AdminMark returns the stored mark, or fc.ErrNotFound.
	AdminMark(ctx context.Context) (*fc.AdminMark, error)
	// CreateAdminMark stores the mark unless one exists
	// (fc.ErrAlreadyExists).
	CreateAdminMark(ctx context.Context, m *fc.AdminMark) error
}

// adminMarkText is what the mark seals.
const adminMarkText = "openfc admin mark v1"

// CheckSharedAdmin makes sure this node's admin key is the one every node
// on the store uses: the stored access keys are sealed under the admin
// secret, so a node with another admin key could open none of them and
// would refuse every request signed with them. The first node stores the
// mark; the others check theirs opens it.
func CheckSharedAdmin(ctx context.Context, marks AdminMarks, cred fcsign.Credentials) error {
	seal, err := newSealer(cred.AccessKeySecret)
	if err != nil {
		return err
	}
	m, err := marks.AdminMark(ctx)
	if errors.Is(err, fc.ErrNotFound) {
		sealed, err := seal.seal(cred.AccessKeyID, adminMarkText)
		if err != nil {
			return err
		}
		err = marks.CreateAdminMark(ctx, &fc.AdminMark{AccessKeyID: cred.AccessKeyID, Sealed: sealed})
		if !errors.Is(err, fc.ErrAlreadyExists) {
			return err
		}
		m, err = readAdminMark(ctx, marks) // another node stored its own first
	}
	if err != nil {
		return fmt.Errorf("auth: reading the cluster's admin mark: %w", err)
	}
	if text, err := seal.open(m.AccessKeyID, m.Sealed); err != nil || text != adminMarkText || m.AccessKeyID != cred.AccessKeyID {
		return fmt.Errorf("this node's admin key (%s) is not the one the other nodes on this store use (%s): "+
			"give every node the same %s and %s", cred.AccessKeyID, m.AccessKeyID, EnvAccessKeyID, EnvAccessKeySecret)
	}
	return nil
}

// readAdminMark reads the mark another node just created. A replicated
// bucket may answer a read from a replica that has not got the write
// yet, so "not found" is retried for a little while.
func readAdminMark(ctx context.Context, marks AdminMarks) (*fc.AdminMark, error) {
	for range 50 {
		m, err := marks.AdminMark(ctx)
		if !errors.Is(err, fc.ErrNotFound) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return marks.AdminMark(ctx)
}
