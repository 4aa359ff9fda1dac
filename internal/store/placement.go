package store

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// placementAttempt bounds one try at binding or creating a bucket or
// stream; placementPause is the pause between tries.
const (
	placementAttempt = 5 * time.Second
	placementPause   = 500 * time.Millisecond
)

// JetStream API error codes a cluster answers while it cannot place a
// replicated asset yet (too few nodes up, no leader elected yet).
const (
	errCodeNoPeers               jetstream.ErrorCode = 10005 // no suitable peers for placement
	errCodeClusterNotAvailable   jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	errCodeNotLeader             jetstream.ErrorCode = 10009 // cluster can not handle request (no leader yet)
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeStreamOffline         jetstream.ErrorCode = 10118
)

// retryPlacement runs op until it succeeds, fails for a reason that
// waiting will not cure, or ctx ends. On a cluster, creating a bucket
// with three replicas needs three nodes up, and any request waits for
// the asset's leader: the first start of a cluster's nodes, or a node
// starting while the cluster elects, retries here rather than failing.
func retryPlacement(ctx context.Context, op func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, placementAttempt)
		err := op(actx)
		cancel()
		if err == nil || !placementPending(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(placementPause):
		}
	}
}

// placementPending reports whether err means "not yet": the cluster
// cannot place or reach the asset for now.
func placementPending(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeNoPeers, errCodeClusterNotAvailable, errCodeNotLeader, errCodeInsufficientResources, errCodeStreamOffline:
			return true
		}
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders)
}
