package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// clusterBucket holds facts every node shares (key "admin": the admin
// mark).
const (
	clusterBucket = "openfc_cluster"
	adminMarkKey  = "admin"
)

// AdminMark returns the stored admin mark, or fc.ErrNotFound.
func (s *JetStream) AdminMark(ctx context.Context) (*fc.AdminMark, error) {
	e, err := s.cluster.Get(ctx, adminMarkKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("store: admin mark: %w", fc.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: admin mark: %w", err)
	}
	var m fc.AdminMark
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return nil, fmt.Errorf("store: admin mark: %w", err)
	}
	return &m, nil
}

// CreateAdminMark stores m unless a mark exists (fc.ErrAlreadyExists).
func (s *JetStream) CreateAdminMark(ctx context.Context, m *fc.AdminMark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.cluster.Create(ctx, adminMarkKey, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store: admin mark: %w", fc.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("store: admin mark: %w", err)
	}
	return nil
}
