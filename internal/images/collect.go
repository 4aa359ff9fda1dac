package images

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/store"
)

// CollectResult is what a Collect pass removed.
type CollectResult struct {
	// Images are the pulled images' records removed.
	Images int
	// Blobs are the blobs removed from the object store.
	Blobs int
	// Layers are this node's layer directories removed.
	Layers int
}

// Collect runs one collection pass:
//
//   - a pulled image no function uses (inUse) goes once it has been seen
//     unused for Grace and was pulled longer ago than that: another node
//     may be starting an instance from it, or a function that uses it may
//     be on its way. Imported images stay until Remove: nothing else
//     could bring them back. A nil inUse means the references are not
//     known: no image goes.
//   - a blob that no stored image references goes once it has been seen
//     unreferenced for Grace and was stored longer ago than that (an
//     import or pull on another node writes its blobs before its record),
//     unless an import or pull on this node is storing it.
//   - a layer directory of this node goes when no Get holds it and no
//     image that a function uses (any stored image, when inUse is nil)
//     has it; images that come back are unpacked again.
//
// inUse returns the references functions use, in any form (Normalize is
// applied); a digest reference keeps every record with that digest.
func (s *Store) Collect(ctx context.Context, inUse func() []string) (CollectResult, error) {
	s.pass.Lock()
	defer s.pass.Unlock()
	var res CollectResult
	start := s.beginPass()
	now := s.opts.Now()
	seen := map[string]bool{}
	// Blobs are listed before records: a record written after this
	// listing references a blob listed here only if it was stored
	// before, which the writing holds and the grace period cover.
	objs, err := s.blobs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return res, fmt.Errorf("images: listing blobs: %w", err)
	}
	recs, err := s.records(ctx)
	if err != nil {
		return res, err
	}
	used, usedDigests := usedRefs(inUse)
	var kept []listed
	for _, r := range recs {
		key := "ref " + r.Ref
		if r.Source == SourceImport || used == nil || used[r.Ref] || usedDigests[r.Digest] {
			kept = append(kept, r)
			continue
		}
		seen[key] = true
		if !s.graceOver(key, r.Created, now) {
			kept = append(kept, r)
			continue
		}
		err := s.kv.Delete(ctx, recordKey(r.Ref), jetstream.LastRevision(r.rev))
		switch {
		case err == nil:
			res.Images++
			s.log.Info("collected an unused pulled image", "ref", r.Ref, "digest", r.Digest)
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch): // written again meanwhile
			kept = append(kept, r)
		default:
			return res, fmt.Errorf("images: removing %s: %w", r.Ref, err)
		}
	}
	blobs, layers, err := s.referenced(ctx, kept, used, usedDigests)
	if err != nil {
		return res, err
	}
	for _, o := range objs {
		key := "blob " + o.Name
		if blobs[o.Name] {
			continue
		}
		seen[key] = true
		if !s.graceOver(key, o.ModTime, now) {
			continue
		}
		deleted, err := s.deleteBlob(ctx, o.Name, start)
		if err != nil {
			return res, err
		}
		if deleted {
			res.Blobs++
		}
	}
	if err := s.purgeOrphanChunks(ctx, objs, now, seen); err != nil {
		return res, err
	}
	for k := range s.unrefSince {
		if !seen[k] {
			delete(s.unrefSince, k)
		}
	}
	res.Layers, err = s.sweepLayers(func(id string) bool { return layers[id] })
	if res.Images+res.Blobs+res.Layers > 0 {
		s.log.Info("collected images", "images", res.Images, "blobs", res.Blobs, "layers", res.Layers)
	}
	return res, err
}

// Run runs Collect at once and then every interval until ctx ends.
func (s *Store) Run(ctx context.Context, interval time.Duration, inUse func() []string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Collect(ctx, inUse); err != nil && ctx.Err() == nil {
			s.log.Warn("image collection failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// usedRefs normalises the references functions use; nil when inUse is.
func usedRefs(inUse func() []string) (refs, digests map[string]bool) {
	if inUse == nil {
		return nil, nil
	}
	refs, digests = map[string]bool{}, map[string]bool{}
	for _, ref := range inUse() {
		norm, err := Normalize(ref)
		if err != nil {
			continue // a function whose image cannot be named uses none
		}
		refs[norm] = true
		if _, d, ok := strings.Cut(norm, "@"); ok {
			digests[d] = true
		}
	}
	return refs, digests
}

// referenced returns the blobs the kept records' images are made of, and
// the layers (diff ID hex) of those a function uses (of all, with no
// inUse).
func (s *Store) referenced(ctx context.Context, kept []listed, used, usedDigests map[string]bool) (blobs, layers map[string]bool, err error) {
	blobs, layers = map[string]bool{}, map[string]bool{}
	for _, r := range kept {
		info, err := s.info(ctx, r.Digest)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
			// A broken image (its manifest or config gone or bad): which
			// blobs it has left cannot be told, and it cannot run anyway.
			s.log.Warn("images: a stored image is broken", "ref", r.Ref, "err", err)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, b := range info.blobs() {
			blobs[b] = true
		}
		if used == nil || used[r.Ref] || usedDigests[r.Digest] {
			for _, id := range info.diffIDs {
				layers[strings.TrimPrefix(id, "sha256:")] = true
			}
		}
	}
	return blobs, layers, nil
}

// purgeOrphanChunks purges the chunks of puts that never finished: a
// server killed while it stored a blob leaves chunks that no object's
// metadata names (a put that fails cleanly purges its own). Chunks whose
// object (NUID) is not listed go once seen so for the grace period: a put
// in progress has chunks before its metadata.
func (s *Store) purgeOrphanChunks(ctx context.Context, objs []*jetstream.ObjectInfo, now time.Time, seen map[string]bool) error {
	prefix := "$O." + bucket + ".C."
	info, err := s.blobStream.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return fmt.Errorf("images: listing chunks: %w", err)
	}
	live := make(map[string]bool, len(objs))
	for _, o := range objs {
		live[o.NUID] = true
	}
	for subj := range info.State.Subjects {
		nuid := strings.TrimPrefix(subj, prefix)
		key := "chunks " + nuid
		if live[nuid] {
			continue
		}
		seen[key] = true
		if since, ok := s.unrefSince[key]; !ok {
			s.unrefSince[key] = now
			continue
		} else if now.Sub(since) < s.opts.Grace {
			continue
		}
		if err := s.blobStream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("images: purging orphan chunks: %w", err)
		}
		delete(s.unrefSince, key)
		s.log.Info("purged the chunks of an interrupted blob put", "nuid", nuid)
	}
	return nil
}

// beginPass returns the seq that writing holds taken or released from
// now on exceed, and forgets the holds that ended before.
func (s *Store) beginPass() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d, h := range s.writing {
		if h.n == 0 {
			delete(s.writing, d)
		}
	}
	return s.seq
}

// graceOver applies the grace period to something unused (key) that came
// to the store at created.
func (s *Store) graceOver(key string, created, now time.Time) bool {
	since, ok := s.unrefSince[key]
	if !ok {
		s.unrefSince[key] = now
		return false
	}
	return now.Sub(since) >= s.opts.Grace && now.Sub(created) >= s.opts.Grace
}

// deleteBlob deletes an unreferenced blob unless an import or pull held
// it since the pass began (start). The holds stay locked during the
// delete, so one that comes meanwhile waits, then finds the blob gone
// and stores it again.
func (s *Store) deleteBlob(ctx context.Context, digest string, start uint64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.writing[digest]; ok && (h.n > 0 || h.released > start) {
		return false, nil
	}
	if err := store.DeleteObject(ctx, s.blobs, s.blobStream, bucket, digest); err != nil {
		return false, err
	}
	delete(s.infos, digest)
	delete(s.unrefSince, "blob "+digest)
	return true, nil
}
