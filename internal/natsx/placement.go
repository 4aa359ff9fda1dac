package natsx

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A try at binding or creating a bucket or stream is bounded by
// placementFirstAttempt, doubled at each try up to placementAttempt;
// PlacementPause is the pause between tries. While a cluster forms, or
// elects the leader of an asset whose leader's node died, a request
// usually gets no answer at all (it reached no leader) rather than a late
// one, and the next try after the election answers at once: short first
// tries cut a restarted node's start by seconds, longer later ones leave
// a loaded cluster time to create a replicated asset.
const (
	placementFirstAttempt = time.Second
	placementAttempt      = 5 * time.Second
	PlacementPause        = 250 * time.Millisecond
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

// RetryPlacement runs op until it succeeds, fails for a reason that
// waiting will not cure, or ctx ends. On a cluster, creating a bucket
// with three replicas needs three nodes up, and any request waits for
// the asset's leader: the first start of a cluster's nodes, or a node
// starting while the cluster elects, retries here rather than failing.
func RetryPlacement(ctx context.Context, op func(ctx context.Context) error) error {
	attempt := placementFirstAttempt
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		cancel()
		attempt = min(2*attempt, placementAttempt)
		if err == nil || !placementPending(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(PlacementPause):
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
