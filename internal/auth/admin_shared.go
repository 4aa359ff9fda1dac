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

// adminMarkWait bounds how long a node waits for the mark another node
// is storing; adminMarkPause is the pause between looks.
const (
	adminMarkWait  = time.Minute
	adminMarkPause = 250 * time.Millisecond
)

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
	m, err := sharedAdminMark(ctx, marks, seal, cred.AccessKeyID)
	if err != nil {
		return fmt.Errorf("auth: reading the cluster's admin mark: %w", err)
	}
	if text, err := seal.open(m.AccessKeyID, m.Sealed); err != nil || text != adminMarkText || m.AccessKeyID != cred.AccessKeyID {
		return fmt.Errorf("this node's admin key (%s) is not the one the other nodes on this store use (%s): "+
			"give every node the same %s and %s", cred.AccessKeyID, m.AccessKeyID, EnvAccessKeyID, EnvAccessKeySecret)
	}
	return nil
}

// sharedAdminMark returns the stored mark, storing this node's when there
// is none. Nodes of a cluster start together, while the cluster elects
// its leaders: a create can be refused because another node's create is
// in flight (a replicated stream refuses a write to a key another write
// to it has not settled), which may still fail (a leader elected
// meanwhile), and a read or create can go unanswered. So it looks again,
// and creates again, until one mark is stored or adminMarkWait ends.
func sharedAdminMark(ctx context.Context, marks AdminMarks, seal *sealer, id string) (*fc.AdminMark, error) {
	ctx, cancel := context.WithTimeout(ctx, adminMarkWait)
	defer cancel()
	for {
		m, err := marks.AdminMark(ctx)
		if err == nil {
			return m, nil
		}
		if errors.Is(err, fc.ErrNotFound) {
			var sealed []byte
			if sealed, err = seal.seal(id, adminMarkText); err != nil {
				return nil, err
			}
			mine := &fc.AdminMark{AccessKeyID: id, Sealed: sealed}
			if err = marks.CreateAdminMark(ctx, mine); err == nil {
				return mine, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no admin mark stored within %v: %w", adminMarkWait, err)
		case <-time.After(adminMarkPause):
		}
	}
}
