package natsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file copies one stream of a single node's store into the cluster
// (migrate.go decides which).

// errCodeNoMessage is JetStream's "no message found" (past the last one).
const errCodeNoMessage = 10037

// copyStream makes the cluster's stream ready (created, or emptied when
// an earlier copy began filling it) and copies every message of the old
// one into it, in order. It returns the messages and bytes copied.
func (mg *migration) copyStream(ctx context.Context, p streamPlan) (int, int64, error) {
	name := p.cfg.Name
	dst, err := mg.ensureStream(ctx, p.cfg)
	if err != nil {
		return 0, 0, err
	}
	if p.msgs == 0 || p.cfg.Mirror != nil || len(p.cfg.Sources) > 0 {
		// Nothing to copy; a mirror or a sourcing stream fills itself
		// from its origins (copied too, when they were in the store).
		return 0, 0, nil
	}
	if slices.Contains(mg.begun, name) {
		// Ours, from a copy cut short: empty it and copy again.
		if err := RetryPlacement(ctx, func(ctx context.Context) error { return dst.Purge(ctx) }); err != nil {
			return 0, 0, fmt.Errorf("emptying what an interrupted copy left: %w", err)
		}
	}
	st, err := mg.clusterState(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	if st.Msgs > 0 { // written by another node since plan looked
		return 0, 0, fmt.Errorf("%w: stream %s received %d messages from elsewhere while this node was migrating", ErrClusterHoldsData, name, st.Msgs)
	}
	fresh := !slices.Contains(mg.begun, name)
	if fresh {
		mg.begun = append(mg.begun, name)
		if err := writeMarker(mg.marker, mg.begun); err != nil {
			return 0, 0, err
		}
	}
	n, b, err := mg.copyMessages(ctx, name, st.LastSeq)
	if errors.Is(err, errRaced) && fresh {
		// Another node's copy (or a write) got there first: the stream
		// is not ours to empty on a rerun.
		mg.begun = slices.DeleteFunc(mg.begun, func(s string) bool { return s == name })
		if merr := writeMarker(mg.marker, mg.begun); merr != nil {
			return 0, 0, merr
		}
	}
	return n, b, err
}

// errRaced: the first message of a copy found the cluster's stream
// written to since its state was read.
var errRaced = fmt.Errorf("%w: another node wrote into the stream first", ErrClusterHoldsData)

// ensureStream binds the cluster's stream, creating it with the old
// configuration and the node's replica count when it is missing. A
// stream another node created meanwhile is bound as it is.
func (mg *migration) ensureStream(ctx context.Context, old jetstream.StreamConfig) (jetstream.Stream, error) {
	cfg := old
	cfg.Replicas = max(1, mg.Replicas)
	cfg.Placement = nil // a single server's placement means nothing here
	cfg.Sealed = false  // filled first (a sealed stream takes no message)
	var st jetstream.Stream
	err := RetryPlacement(ctx, func(ctx context.Context) (err error) {
		st, err = mg.dst.JS.Stream(ctx, cfg.Name)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		st, err = mg.dst.JS.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = mg.dst.JS.Stream(ctx, cfg.Name)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating it in the cluster: %w", err)
	}
	return st, nil
}

// storedMsg is a message as the stream-message API returns it: the
// subject, headers and data as stored.
type storedMsg struct {
	Subject  string `json:"subject"`
	Sequence uint64 `json:"seq"`
	Header   []byte `json:"hdrs,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// copyMessages publishes the old stream's messages to the cluster in
// order, a window at a time: the acks of a window are awaited before the
// next, which bounds the memory held (object chunks are 128 KB each).
// Every publish names the stream it must land in.
//
// The first message is published alone, expecting the stream's last
// sequence to be lastSeq: two nodes copying into the same stream at once
// (or a node writing into it) cannot interleave, one of them gets
// errRaced before it wrote anything.
func (mg *migration) copyMessages(ctx context.Context, name string, lastSeq uint64) (int, int64, error) {
	js, err := jetstream.New(mg.dst.NC, jetstream.WithPublishAsyncMaxPending(copyWindow))
	if err != nil {
		return 0, 0, err
	}
	defer js.CleanupPublisher() // its reply subscription
	var (
		n       int
		total   int64
		pending []jetstream.PubAckFuture
		inWin   int
	)
	for seq := uint64(1); ; {
		sm, err := mg.src.next(ctx, name, seq)
		if err != nil {
			return n, total, err
		}
		if sm == nil {
			break
		}
		seq = sm.Sequence + 1
		msg, err := republished(sm)
		if err != nil {
			return n, total, err
		}
		size := len(sm.Header) + len(sm.Data)
		if n == 0 {
			if err := mg.publishFirst(ctx, msg, name, lastSeq); err != nil {
				return 0, 0, err
			}
			n, total = 1, int64(size)
			continue
		}
		f, err := js.PublishMsgAsync(msg, jetstream.WithExpectStream(name))
		if err != nil {
			return n, total, fmt.Errorf("publishing message %d: %w", sm.Sequence, err)
		}
		pending = append(pending, f)
		n++
		total += int64(size)
		inWin += size
		if len(pending) >= copyWindow || inWin >= copyWindowBytes {
			if err := awaitAcks(ctx, pending); err != nil {
				return n, total, err
			}
			pending, inWin = pending[:0], 0
		}
	}
	if err := awaitAcks(ctx, pending); err != nil {
		return n, total, err
	}
	return n, total, nil
}

// publishFirst publishes a copy's first message into stream, expecting
// its last sequence to be lastSeq (errRaced when it is not).
func (mg *migration) publishFirst(ctx context.Context, msg *nats.Msg, stream string, lastSeq uint64) error {
	pctx, cancel := context.WithTimeout(ctx, copyRequest)
	defer cancel()
	_, err := mg.dst.JS.PublishMsg(pctx, msg, jetstream.WithExpectStream(stream), jetstream.WithExpectLastSequence(lastSeq))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return errRaced
	}
	if err != nil {
		return fmt.Errorf("publishing the first message: %w", err)
	}
	return nil
}

// next returns the stream's first message at or after seq, nil past the
// last. (Not a consumer: a work-queue stream takes no second consumer
// overlapping its workers', nor one that does not ack.)
func (s *standalone) next(ctx context.Context, stream string, seq uint64) (*storedMsg, error) {
	req, err := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
	}{seq, ">"})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, copyRequest)
	defer cancel()
	r, err := s.nc.RequestWithContext(rctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, fmt.Errorf("reading message %d+ of the single-node store: %w", seq, err)
	}
	var resp struct {
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Message *storedMsg `json:"message"`
	}
	if err := json.Unmarshal(r.Data, &resp); err != nil {
		return nil, fmt.Errorf("reading message %d+ of the single-node store: %w", seq, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessage:
		return nil, nil
	case resp.Error != nil:
		return nil, fmt.Errorf("reading message %d+ of the single-node store: %s (%d)", seq, resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, fmt.Errorf("reading message %d+ of the single-node store: empty answer", seq)
	}
	return resp.Message, nil
}

// republished is sm to publish again: its subject, data and headers but
// those JetStream would act on again. Nats-Expected-* and Nats-Batch-*
// would be checked against the new stream and fail; a Nats-Msg-Id did
// its work when the message was first stored, and kept, the cluster
// would take the messages of a refill after an interrupted copy for
// duplicates of the first try's and drop them.
func republished(sm *storedMsg) (*nats.Msg, error) {
	msg := &nats.Msg{Subject: sm.Subject, Data: sm.Data}
	if len(sm.Header) == 0 {
		return msg, nil
	}
	h, err := nats.DecodeHeadersMsg(sm.Header)
	if err != nil {
		return nil, fmt.Errorf("message %d's headers: %w", sm.Sequence, err)
	}
	for k := range h {
		if k == jetstream.MsgIDHeader || strings.HasPrefix(k, "Nats-Expected-") || strings.HasPrefix(k, "Nats-Batch-") {
			delete(h, k)
		}
	}
	if len(h) > 0 {
		msg.Header = h
	}
	return msg, nil
}

// awaitAcks waits for every publish in fs to be acknowledged.
func awaitAcks(ctx context.Context, fs []jetstream.PubAckFuture) error {
	timeout := time.NewTimer(copyRequest)
	defer timeout.Stop()
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publishing to %s: %w", f.Msg().Subject, err)
		case <-timeout.C:
			return fmt.Errorf("publishing to %s: no acknowledgement within %s", f.Msg().Subject, copyRequest)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
