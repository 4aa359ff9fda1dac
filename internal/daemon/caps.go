package daemon

import (
	"context"
	"net"
	"net/url"
	"sync/atomic"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/gateway"
	"github.com/openfc/openfc/internal/instance"
	"github.com/openfc/openfc/internal/store"
)

// This file makes the instance caps cluster-wide when other nodes use
// this node's JetStream (Options.SharedStore): the instance slots
// (store.Slots) the instance manager reserves, the peers the gateway
// forwards to, and the provisioned targets split over the live nodes. A
// single node has none of it: its caps are its own, as before.

// clusterCaps is the slots and what is built on them.
type clusterCaps struct {
	slots *store.Slots
	// stop ends the slots' refresh and watch, which then free the slots
	// this node still holds; done is closed once they have.
	stop context.CancelFunc
	done chan struct{}
	// next turns the forwards over the nodes holding a function's
	// instances (peers.PeerFor).
	next atomic.Uint64
}

// openCaps binds the slots bucket and starts refreshing this node's
// slots, when the store is shared; closeCaps stops it.
func (d *Daemon) openCaps(ctx context.Context) error {
	if !d.opts.SharedStore() {
		return nil
	}
	slots, err := store.OpenSlots(ctx, d.nats.JS, d.replicas, d.nodeName, 0, d.log.With("component", "slots"))
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c := &clusterCaps{slots: slots, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		slots.Run(sctx)
	}()
	d.caps = c
	return nil
}

// closeCaps frees this node's remaining slots (its instances have
// stopped) and waits for that.
func (d *Daemon) closeCaps() {
	if d.caps == nil {
		return
	}
	d.caps.stop()
	<-d.caps.done
}

// instanceSlots is the instance manager's Slots: nil on a single node
// (never a typed nil in the interface).
func (d *Daemon) instanceSlots() instance.Slots {
	if d.caps == nil {
		return nil
	}
	return d.caps.slots
}

// peers gives the gateway the node a call is forwarded to: one holding
// instances of the function's version, taken in turn, each as often as it
// holds instances (a node with two of the three gets two calls in three).
// Only live nodes are chosen: a dead node's slots count until they
// expire, but nothing is sent to it.
type peers struct{ d *Daemon }

func (p peers) PeerFor(fn *fc.Function) (name, url string, ok bool) {
	d := p.d
	holders := d.instances.Elsewhere(fn) // one entry per instance, sorted
	if len(holders) == 0 {
		return "", "", false
	}
	live := d.nodes.Live()
	urls := make(map[string]string, len(live))
	for _, n := range live {
		urls[n.Name] = frontDoor(n)
	}
	candidates := holders[:0:0]
	for _, h := range holders {
		if urls[h] != "" {
			candidates = append(candidates, h)
		}
	}
	if len(candidates) == 0 {
		return "", "", false
	}
	name = candidates[d.caps.next.Add(1)%uint64(len(candidates))]
	return name, urls[name], true
}

// frontDoor is the URL another node reaches n's front door at: the URL
// it announces, except that a wildcard host (--listen :8080 announces
// "[::]:8080", which would dial this very node) becomes the host of its
// --cluster-listen, an address the other nodes do reach. With --nats
// there is none: --listen must then name a reachable address.
func frontDoor(n fc.Node) string {
	u, err := url.Parse(n.URL)
	if err != nil {
		return n.URL
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsUnspecified() {
		return n.URL
	}
	host, _, err := net.SplitHostPort(n.Cluster)
	if err != nil || host == "" {
		return n.URL
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return n.URL
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}

// gatewayPeers is the gateway's Peers: nil on a single node.
func (d *Daemon) gatewayPeers() gateway.Peers {
	if d.caps == nil {
		return nil
	}
	return peers{d}
}

// provisionShare is this node's part of a provisioned target: on a
// single node all of it, in a cluster its share by store.ProvisionShare
// over the live nodes (so a dead node's share moves to the others once
// it is no longer live).
func (d *Daemon) provisionShare(t store.ProvisionTarget) int {
	if d.caps == nil {
		return t.Target
	}
	live := d.nodes.Live()
	names := make([]string, len(live))
	for i, n := range live {
		names[i] = n.Name
	}
	return store.ProvisionShare(t.Target, names, d.nodeName, t.Service+"/"+t.Function+"@"+t.Qualifier)
}
