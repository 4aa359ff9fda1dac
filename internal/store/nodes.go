package store

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// nodesBucket holds one key per node, its fc.Node, written every
// fc.NodeHeartbeat. The bucket's max age drops a dead node's key.
const nodesBucket = "openfc_nodes"

// Nodes is the cluster's membership: this node's announcements, and the
// nodes heard from within fc.NodeTTL, kept by a watch. Liveness is
// judged by when this node last received a node's announcement (its own
// clock), so clock skew between machines does not matter.
type Nodes struct {
	kv  jetstream.KeyValue
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	nodes map[string]heardNode
	live  []string // names live at the last check, sorted
	// replaying is true until the watch delivered the stored values.
	replaying bool
	// changed is closed and replaced when the live set changes.
	changed chan struct{}
}

type heardNode struct {
	node  fc.Node
	heard time.Time
}

// OpenNodes binds (or creates) the nodes bucket.
func OpenNodes(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*Nodes, error) {
	kv, err := OpenKV(ctx, js, Spec{Name: nodesBucket, Description: "openfc nodes (heartbeats)", Replicas: replicas, TTL: 5 * fc.NodeTTL})
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Nodes{kv: kv, log: log, now: time.Now, nodes: map[string]heardNode{}, replaying: true, changed: make(chan struct{})}, nil
}

// Run announces self (called afresh each time) every fc.NodeHeartbeat
// and watches the others' announcements until ctx ends; then it removes
// this node's key, so that the others see it leave at once.
func (n *Nodes) Run(ctx context.Context, self func() fc.Node) {
	w, err := n.kv.WatchAll(ctx)
	if err != nil {
		n.log.Warn("watching the nodes bucket", "err", err)
	}
	var updates <-chan jetstream.KeyValueEntry
	if w != nil {
		updates = w.Updates()
		defer w.Stop()
	}
	t := time.NewTicker(fc.NodeHeartbeat)
	defer t.Stop()
	name := n.announce(ctx, self)
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := n.kv.Delete(dctx, name); err != nil {
				n.log.Debug("removing this node's announcement", "err", err)
			}
			cancel()
			return
		case e, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			n.heard(e)
		case <-t.C:
			n.announce(ctx, self)
			n.check()
		}
	}
}

func (n *Nodes) announce(ctx context.Context, self func() fc.Node) string {
	me := self()
	me.Seen = n.now().UTC()
	b, _ := json.Marshal(me)
	if _, err := n.kv.Put(ctx, me.Name, b); err != nil && ctx.Err() == nil {
		n.log.Warn("announcing this node", "node", me.Name, "err", err)
	}
	return me.Name
}

// heard records one update of the watch (nil: the initial values are
// all delivered).
func (n *Nodes) heard(e jetstream.KeyValueEntry) {
	n.mu.Lock()
	if e == nil {
		n.replaying = false
		n.mu.Unlock()
		n.check()
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(n.nodes, e.Key())
	} else {
		var node fc.Node
		if err := json.Unmarshal(e.Value(), &node); err == nil {
			heard := n.now()
			if n.replaying && heard.Sub(e.Created()) > fc.NodeTTL {
				// Replayed by the watch's start and older than the
				// TTL: a node that is gone. (Only then is the
				// writer's clock consulted.)
				heard = heard.Add(-2 * fc.NodeTTL)
			}
			n.nodes[e.Key()] = heardNode{node: node, heard: heard}
		}
	}
	n.mu.Unlock()
	n.check()
}

// check recomputes the live set and signals a change.
func (n *Nodes) check() {
	n.mu.Lock()
	defer n.mu.Unlock()
	live := n.liveLocked()
	names := make([]string, len(live))
	for i, x := range live {
		names[i] = x.Name
	}
	if !slices.Equal(names, n.live) {
		n.live = names
		close(n.changed)
		n.changed = make(chan struct{})
	}
}

func (n *Nodes) liveLocked() []fc.Node {
	var out []fc.Node
	now := n.now()
	for _, h := range n.nodes {
		if now.Sub(h.heard) <= fc.NodeTTL {
			out = append(out, h.node)
		}
	}
	slices.SortFunc(out, func(a, b fc.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Live returns the nodes heard from within fc.NodeTTL, by name.
func (n *Nodes) Live() []fc.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.liveLocked()
}

// Changed returns a channel closed when the live set next changes (a
// node joined, left or was not heard from for fc.NodeTTL).
func (n *Nodes) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// All returns every node the bucket still holds, live or not, with
// whether each is live: for `openfc cluster status`.
func (n *Nodes) All() (nodes []fc.Node, live map[string]bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	live = map[string]bool{}
	for _, x := range n.liveLocked() {
		live[x.Name] = true
	}
	for _, h := range n.nodes {
		nodes = append(nodes, h.node)
	}
	slices.SortFunc(nodes, func(a, b fc.Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, live
}
