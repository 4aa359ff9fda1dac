package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/natsx"
)

// This file is how openfc binds its JetStream buckets and removes objects
// for good; the image store (internal/images) uses it for its own.

// Spec is what openfc asks of a KV bucket or object store it creates.
type Spec struct {
	Name, Description string
	// Replicas is how many copies JetStream keeps (a cluster's
	// --replicas; 1 on a single node).
	Replicas int
	// TTL, when set, is the bucket's max age: a key not written again
	// within it goes (node heartbeats, instance slots).
	TTL time.Duration
}

func (b Spec) replicas() int { return max(1, b.Replicas) }

// OpenKV binds the KV bucket, creating it (file storage, one value per
// key) when it does not exist yet. An existing bucket keeps its
// configuration (an operator may have changed its replicas).
func OpenKV(ctx context.Context, js jetstream.JetStream, b Spec) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := natsx.RetryPlacement(ctx, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, b.Name)
		if err == nil || !errors.Is(err, jetstream.ErrBucketNotFound) {
			return err
		}
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      b.Name,
			Description: b.Description,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    b.replicas(),
			TTL:         b.TTL,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another node won the race
			kv, err = js.KeyValue(ctx, b.Name)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open kv bucket %s: %w", b.Name, err)
	}
	return kv, nil
}

// OpenObjectStore binds the object store, creating it (file storage)
// when needed; an existing one keeps its configuration.
func OpenObjectStore(ctx context.Context, js jetstream.JetStream, b Spec) (jetstream.ObjectStore, error) {
	var obs jetstream.ObjectStore
	err := natsx.RetryPlacement(ctx, func(ctx context.Context) (err error) {
		obs, err = js.ObjectStore(ctx, b.Name)
		if err == nil || !errors.Is(err, jetstream.ErrBucketNotFound) {
			return err
		}
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      b.Name,
			Description: b.Description,
			Storage:     jetstream.FileStorage,
			Replicas:    b.replicas(),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = js.ObjectStore(ctx, b.Name)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open object store %s: %w", b.Name, err)
	}
	return obs, nil
}

// streamKnownTries × streamKnownPause bounds how long a stream just
// created elsewhere may be unknown to this node.
const (
	streamKnownTries = 50
	streamKnownPause = 100 * time.Millisecond
)

// ObjectStream binds the stream behind object store bucket, for what the
// object store API lacks (DeleteObject).
// Called right after OpenObjectStore: on a cluster, a node whose meta
// layer is behind may not know yet the stream another node just created
// ("stream not found"), so that is asked again for a while.
func ObjectStream(ctx context.Context, js jetstream.JetStream, bucket string) (jetstream.Stream, error) {
	var st jetstream.Stream
	var err error
	for tries := 0; ; tries++ {
		err = natsx.RetryPlacement(ctx, func(ctx context.Context) (err error) {
			st, err = js.Stream(ctx, "OBJ_"+bucket)
			return err
		})
		if !errors.Is(err, jetstream.ErrStreamNotFound) || tries == streamKnownTries {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("store: bind the stream of object store %s: %w", bucket, ctx.Err())
		case <-time.After(streamKnownPause):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: bind the stream of object store %s: %w", bucket, err)
	}
	return st, nil
}

// DeleteObject removes object name from the object store obs (bucket,
// whose stream is st); a missing object is fine.
//
// nats.go's Delete purges the object's chunks and leaves a delete marker
// in the object's place. The marker is then purged too: a file store only
// frees a block of its stream once every message in it is gone, and
// markers left behind would pin the deleted chunks' blocks on disk. The
// purge stops at the marker's sequence, so that an object stored again
// under the same name meanwhile stays.
func DeleteObject(ctx context.Context, obs jetstream.ObjectStore, st jetstream.Stream, bucket, name string) error {
	err := obs.Delete(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, name, err)
	}
	subj := objectMetaSubject(bucket, name)
	m, err := st.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: delete %s/%s: reading its marker: %w", bucket, name, err)
	}
	var meta struct {
		Deleted bool `json:"deleted"`
	}
	if json.Unmarshal(m.Data, &meta) != nil || !meta.Deleted {
		return nil // stored again since: keep it
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(m.Sequence+1)); err != nil {
		return fmt.Errorf("store: delete %s/%s: purging its marker: %w", bucket, name, err)
	}
	return nil
}

// objectMetaSubject is the subject of an object's metadata in its object
// store's stream (the layout of NATS's object store, ADR-20).
func objectMetaSubject(bucket, name string) string {
	return "$O." + bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(name))
}
