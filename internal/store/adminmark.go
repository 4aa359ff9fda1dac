package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

// clusterBucket holds facts every node shares (key "admin": the admin
// mark).
const (
	clusterBucket = "openfc_cluster"
	adminMarkKey  = "admin"
)

// AdminMarks keeps the admin mark (auth.AdminMarks) in the bucket of
// the facts every node shares.
type AdminMarks struct {
	kv jetstream.KeyValue
	js jetstream.JetStream // for reads a KV Get cannot do
}

// OpenAdminMarks creates or binds that bucket alone: a node about to copy
// its single-node data into a cluster checks the mark before it opens
// the store (Open binds the same bucket).
func OpenAdminMarks(ctx context.Context, js jetstream.JetStream, replicas int) (*AdminMarks, error) {
	kv, err := OpenKV(ctx, js, Spec{Name: clusterBucket, Description: "openfc facts every node shares", Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &AdminMarks{kv: kv, js: js}, nil
}

// AdminMark is the store's admin mark (AdminMarks.AdminMark).
func (s *JetStream) AdminMark(ctx context.Context) (*fc.AdminMark, error) {
	return s.marks.AdminMark(ctx)
}

// CreateAdminMark stores the store's admin mark
// (AdminMarks.CreateAdminMark).
func (s *JetStream) CreateAdminMark(ctx context.Context, m *fc.AdminMark) error {
	return s.marks.CreateAdminMark(ctx, m)
}

// AdminMark returns the stored admin mark, or fc.ErrNotFound. It asks
// the bucket's stream leader (STREAM.MSG.GET), not a KV Get: that is a
// direct get, answered by the replica on this node's server, and a
// replica still catching up while the cluster forms misses the mark
// another node has just created, for seconds (a node that failed to
// create the mark because it exists was then told there is none).
func (a *AdminMarks) AdminMark(ctx context.Context) (*fc.AdminMark, error) {
	// Each request is bounded (natsx.RetryPlacement): one that reached no
	// leader while the cluster formed otherwise waited for ctx's end
	// (a node exited after a minute with a healthy cluster around it).
	var data []byte
	err := natsx.RetryPlacement(ctx, func(ctx context.Context) (err error) {
		data, err = a.leaderGet(ctx, "KV_"+clusterBucket, "$KV."+clusterBucket+"."+adminMarkKey)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: admin mark: %w", err)
	}
	var m fc.AdminMark
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("store: admin mark: %w", err)
	}
	return &m, nil
}

// errCodeNoMessage is JetStream's "no message found".
const errCodeNoMessage = 10037

// leaderGet returns the data of the last message on subject in stream,
// as its leader has it (fc.ErrNotFound when there is none, or it was
// deleted: a KV delete leaves an empty marker).
func (a *AdminMarks) leaderGet(ctx context.Context, stream, subject string) ([]byte, error) {
	req, err := json.Marshal(map[string]string{"last_by_subj": subject})
	if err != nil {
		return nil, err
	}
	msg, err := a.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, err
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == errCodeNoMessage:
		return nil, fc.ErrNotFound
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Message == nil || len(resp.Message.Data) == 0:
		return nil, fc.ErrNotFound
	}
	return resp.Message.Data, nil
}

// CreateAdminMark stores m unless a mark exists (fc.ErrAlreadyExists).
func (a *AdminMarks) CreateAdminMark(ctx context.Context, m *fc.AdminMark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	err = natsx.RetryPlacement(ctx, func(ctx context.Context) error {
		_, err := a.kv.Create(ctx, adminMarkKey, b)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store: admin mark: %w", fc.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("store: admin mark: %w", err)
	}
	return nil
}
