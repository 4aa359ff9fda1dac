package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/openfc/openfc/internal/fc"
)

// createAttempts bounds the retries of Create when a generated ID is
// taken (with 20 random alphanumerics, it never is).
const createAttempts = 3

// Create generates an access key shaped like Alibaba Cloud's (the admin
// key's generator), stores it with its secret sealed, and returns it with
// its secret: the only time the secret leaves the server. spec gives the
// description, scope and expiry; its other fields are ignored. The key
// works on this node when Create returns, and on the others when their
// watch delivers it.
func (k *Keys) Create(ctx context.Context, spec fc.AccessKey) (fc.AccessKey, error) {
	for range createAttempts {
		pair, err := generate()
		if err != nil {
			return fc.AccessKey{}, err
		}
		if pair.AccessKeyID == k.adminID {
			continue
		}
		sealed, err := k.seal.seal(pair.AccessKeyID, pair.AccessKeySecret)
		if err != nil {
			return fc.AccessKey{}, err
		}
		r := &fc.AccessKeyRecord{
			AccessKeyID:  pair.AccessKeyID,
			Description:  spec.Description,
			Scope:        spec.Scope,
			CreatedTime:  k.now().UTC(),
			ExpiresTime:  spec.ExpiresTime,
			SealedSecret: sealed,
		}
		rev, err := k.store.CreateAccessKey(ctx, r)
		if errors.Is(err, fc.ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return fc.AccessKey{}, err
		}
		k.localPut(r.AccessKeyID, rev, recordKey(r.AccessKeyID, pair.AccessKeySecret, r))
		out := r.Public()
		out.AccessKeySecret = pair.AccessKeySecret
		return out, nil
	}
	return fc.AccessKey{}, fmt.Errorf("auth: no free access key ID after %d attempts", createAttempts)
}

// List returns every stored access key, without secrets, sorted by ID.
// The admin key is not among them: it is configured, not stored.
func (k *Keys) List(ctx context.Context) ([]fc.AccessKey, error) {
	rs, err := k.store.ListAccessKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]fc.AccessKey, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Public())
	}
	return out, nil
}

// Get returns a stored access key without its secret; FC's
// AccessKeyNotFound when there is none.
func (k *Keys) Get(ctx context.Context, id string) (fc.AccessKey, error) {
	r, _, err := k.store.GetAccessKey(ctx, id)
	if err != nil {
		return fc.AccessKey{}, k.notFound(id, err)
	}
	return r.Public(), nil
}

// Delete deletes a stored access key: it stops working on this node when
// Delete returns, and on the others when their watch delivers the delete.
// The admin key cannot be deleted (InvalidArgument): it is configured
// outside the store.
func (k *Keys) Delete(ctx context.Context, id string) error {
	if id == k.adminID {
		return fc.Errorf(fc.CodeInvalidArgument, "access key '%s' is the admin key: it is set where the server starts (%s/%s or the data dir), not through the API", id, EnvAccessKeyID, EnvAccessKeySecret)
	}
	rev, err := k.store.DeleteAccessKey(ctx, id)
	if err != nil {
		return k.notFound(id, err)
	}
	k.localDelete(id, rev)
	return nil
}

// notFound turns the store's fc.ErrNotFound into FC's error for the key.
func (k *Keys) notFound(id string, err error) error {
	if errors.Is(err, fc.ErrNotFound) {
		return fc.Errorf(fc.CodeAccessKeyNotFound, "access key '%s' does not exist", id)
	}
	return err
}
