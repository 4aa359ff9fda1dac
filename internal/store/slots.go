package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// slotsBucket holds the cluster's instance slots: a function version
// whose cap is N has N keys "<pool>.<i>", i in 0..N-1, each held by one
// instance on one node. Taking a slot is kv.Create, which fails when the
// key exists, so the nodes together never hold more than N.
const slotsBucket = "openfc_instance_slots"

// SlotTTL is the slots bucket's max age: a holder refreshes its slots
// every SlotTTL/3, and the slots of a node that died (stopped refreshing)
// are free again within SlotTTL. That is the caps' documented slack: a
// dead node's instances count for up to SlotTTL.
const SlotTTL = 12 * time.Second

// Slots is this node's view of the instance slots: the ones it holds
// (refreshed by Run), and the holders of every slot, kept by a watch, for
// finding the node to forward a request to.
type Slots struct {
	kv   jetstream.KeyValue
	node string
	ttl  time.Duration
	log  *slog.Logger
	now  func() time.Time

	mu   sync.Mutex
	held map[string]heldSlot // this node's slots
	seen map[string]seenSlot
}

// seenSlot is one slot of the view: its holder, and when it was last
// written as far as this node knows.
type seenSlot struct {
	node  string
	heard time.Time
}

// heldSlot is one of this node's slots: its value and revision.
type heldSlot struct {
	val []byte
	rev uint64
}

// slotValue is a slot key's value.
type slotValue struct {
	Node     string `json:"node"`
	Instance string `json:"instance"`
}

// OpenSlots binds (or creates) the slots bucket for node. ttl 0 means
// SlotTTL (tests use a shorter one).
func OpenSlots(ctx context.Context, js jetstream.JetStream, replicas int, node string, ttl time.Duration, log *slog.Logger) (*Slots, error) {
	if ttl <= 0 {
		ttl = SlotTTL
	}
	kv, err := OpenKV(ctx, js, Spec{Name: slotsBucket, Description: "openfc instance slots (cluster-wide caps)", Replicas: replicas, TTL: ttl})
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Slots{kv: kv, node: node, ttl: ttl, log: log, now: time.Now, held: map[string]heldSlot{}, seen: map[string]seenSlot{}}, nil
}

// Node is the name of this node, the holder its slots record.
func (s *Slots) Node() string { return s.node }

// slotPrefix is pool's key prefix: the pool name (service/function@
// qualifier) in URL-safe base64, one token whatever characters it has.
func slotPrefix(pool string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pool)) + "."
}

// Reserve takes a free slot of pool, whose cap is limit, for instance:
// the first key among "<pool>.0" … "<pool>.<limit-1>" it can create. It
// returns the key, or "" when all limit are held (then the view learns
// who holds them).
func (s *Slots) Reserve(ctx context.Context, pool string, limit int, instance string) (string, error) {
	val, _ := json.Marshal(slotValue{Node: s.node, Instance: instance})
	for _, key := range s.order(slotPrefix(pool), limit) {
		rev, err := s.kv.Create(ctx, key, val)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("store: reserve slot %s of %s: %w", key, pool, err)
		}
		s.mu.Lock()
		s.held[key] = heldSlot{val: val, rev: rev}
		s.seen[key] = seenSlot{node: s.node, heard: s.now()}
		s.mu.Unlock()
		return key, nil
	}
	s.learn(ctx, slotPrefix(pool), limit)
	return "", nil
}

// order lists pool's slot keys in the order Reserve tries them: first
// those the view does not know as held, then the others (the view may
// lag: the Create decides). With a current view a reserve is one round
// trip even when the cap is large and most slots are held.
func (s *Slots) order(prefix string, limit int) []string {
	free := make([]string, 0, limit)
	var held []string
	now := s.now()
	s.mu.Lock()
	for i := range limit {
		key := prefix + strconv.Itoa(i)
		if x, ok := s.seen[key]; ok && now.Sub(x.heard) < s.ttl {
			held = append(held, key)
		} else {
			free = append(free, key)
		}
	}
	s.mu.Unlock()
	return append(free, held...)
}

// learnTries bounds the reads of one slot in learn: a replica that has
// not applied the slot's creation yet answers "not found".
const learnTries = 5

// learn reads the holders of pool's slots into the view, after a failed
// reserve: the watch may not have delivered them yet, and forwarding
// needs to know them now. Each key just refused a Create, so one that
// reads as missing is read again, briefly, in case the replica answering
// lags behind.
func (s *Slots) learn(ctx context.Context, prefix string, limit int) {
	for i := range limit {
		key := prefix + strconv.Itoa(i)
		for try := 1; ; try++ {
			e, err := s.kv.Get(ctx, key)
			if err == nil {
				s.heard(e, e.Created())
				break
			}
			if !errors.Is(err, jetstream.ErrKeyNotFound) || try == learnTries || sleepCtx(ctx, 20*time.Millisecond) != nil {
				break
			}
		}
	}
}

// sleepCtx waits d, or until ctx ends (its error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release frees a slot this node holds; a slot already gone is fine.
func (s *Slots) Release(ctx context.Context, key string) {
	s.mu.Lock()
	h, ok := s.held[key]
	delete(s.held, key)
	delete(s.seen, key)
	s.mu.Unlock()
	if !ok {
		return
	}
	err := s.kv.Delete(ctx, key, jetstream.LastRevision(h.rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// A refresh rewrote it meanwhile: still this instance's (its
		// value names it) unless it expired and another took it.
		if e, gerr := s.kv.Get(ctx, key); gerr == nil && bytes.Equal(e.Value(), h.val) {
			err = s.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
		} else {
			err = nil
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Debug("releasing an instance slot", "slot", key, "err", err)
	}
}

// Holders returns how many slots of pool each node holds, by the view:
// slots written within the TTL.
func (s *Slots) Holders(pool string) map[string]int {
	prefix := slotPrefix(pool)
	now := s.now()
	out := map[string]int{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, x := range s.seen {
		if strings.HasPrefix(key, prefix) && now.Sub(x.heard) < s.ttl {
			out[x.node]++
		}
	}
	return out
}

// Run refreshes this node's slots every TTL/3 and watches every node's
// until ctx ends; then it frees the slots this node still holds.
func (s *Slots) Run(ctx context.Context) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		s.log.Warn("watching the instance slots", "err", err)
	}
	var updates <-chan jetstream.KeyValueEntry
	if w != nil {
		updates = w.Updates()
		defer w.Stop()
	}
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.releaseAll()
			return
		case e, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if e != nil {
				s.heard(e, s.now())
			}
		case <-t.C:
			s.refresh(ctx)
		}
	}
}

// heard records one slot write or removal in the view.
func (s *Slots) heard(e jetstream.KeyValueEntry, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.seen, e.Key())
		return
	}
	var v slotValue
	if json.Unmarshal(e.Value(), &v) != nil {
		return
	}
	if now := s.now(); at.After(now) {
		at = now // another server's clock ahead of this one's
	}
	s.seen[e.Key()] = seenSlot{node: v.Node, heard: at}
}

// refresh rewrites this node's slots, each against its revision. One
// that changed meanwhile (it expired, and another node may have taken
// it) is taken again if it is free, else it is this node's no longer.
// Other errors (a leader election under way) leave it for the next
// refresh: it expires only after SlotTTL.
func (s *Slots) refresh(ctx context.Context) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	slices.Sort(keys)
	for _, key := range keys {
		s.mu.Lock()
		h, ok := s.held[key]
		s.mu.Unlock()
		if !ok {
			continue // released meanwhile
		}
		rev, err := s.kv.Update(ctx, key, h.val, h.rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			rev, err = s.kv.Create(ctx, key, h.val)
			if errors.Is(err, jetstream.ErrKeyExists) {
				s.lost(key, h.rev, err)
				continue
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Debug("refreshing an instance slot", "slot", key, "err", err)
			}
			continue
		}
		s.mu.Lock()
		if cur, ok := s.held[key]; ok && cur.rev == h.rev {
			s.held[key] = heldSlot{val: h.val, rev: rev}
		}
		s.mu.Unlock()
	}
}

// lost drops a slot another node took after this node failed to refresh
// it in time (unless it was released meanwhile). Its instance lives on,
// uncounted: the cluster may hold one more instance than the cap until
// it stops.
func (s *Slots) lost(key string, rev uint64, err error) {
	s.mu.Lock()
	cur, ok := s.held[key]
	ok = ok && cur.rev == rev
	if ok {
		delete(s.held, key)
	}
	s.mu.Unlock()
	if ok {
		s.log.Warn("lost an instance slot", "slot", key, "err", err)
	}
}

// releaseAll frees every slot this node holds (its shutdown).
func (s *Slots) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.mu.Lock()
	keys := make([]string, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.Release(ctx, k)
	}
}
