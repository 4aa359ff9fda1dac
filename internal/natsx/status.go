package natsx

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// Status reports the JetStream under this connection, for `openfc
// cluster status`: embedded or external, the cluster's size, its meta
// leader and peers, and each stream whose name contains streamsWith
// (openfc's) with the state of its replicas. Replicas is left to the
// caller, which knows what it asks for.
//
// The embedded server is asked directly (its Jsz: the meta group as this
// server sees it). A client of an external cluster cannot ask for the
// meta group without the system account; its peers are then the servers
// hosting the streams, and the meta leader is left empty.
func (c *Conn) Status(ctx context.Context, streamsWith string) (fc.JetStreamInfo, error) {
	info := fc.JetStreamInfo{Mode: fc.JetStreamEmbedded, ClusterSize: 1, Peers: []fc.JetStreamPeer{}}
	if c.ns == nil {
		info.Mode, info.ClusterSize = fc.JetStreamExternal, c.KnownServers()
	} else if jsz, err := c.ns.Jsz(&server.JSzOptions{}); err == nil && jsz.Meta != nil {
		info.ClusterSize, info.MetaLeader, info.Peers = metaPeers(jsz.Meta, c.ns.Name())
	}
	streams, err := c.streams(ctx, streamsWith)
	if err != nil {
		return info, err
	}
	info.Streams = make([]fc.StreamStatus, 0, len(streams))
	for _, si := range streams {
		info.Streams = append(info.Streams, streamStatus(si))
	}
	if c.ns == nil {
		info.Peers = streamPeers(streams)
	}
	return info, nil
}

// streams lists the streams whose name contains streamsWith, by name.
func (c *Conn) streams(ctx context.Context, streamsWith string) ([]*jetstream.StreamInfo, error) {
	var out []*jetstream.StreamInfo
	l := c.JS.ListStreams(ctx)
	for si := range l.Info() {
		if strings.Contains(si.Config.Name, streamsWith) {
			out = append(out, si)
		}
	}
	if err := l.Err(); err != nil {
		return out, fmt.Errorf("natsx: listing streams: %w", err)
	}
	slices.SortFunc(out, func(a, b *jetstream.StreamInfo) int { return strings.Compare(a.Config.Name, b.Config.Name) })
	return out, nil
}

// metaPeers reads the meta group as server self sees it: its size,
// leader and every peer, by name. The server lists as replicas the peers
// other than itself, the leader among them when self follows; self is
// then added as current (it answers). A follower's view of the other
// followers is only as fresh as the leader's last word.
func metaPeers(m *server.MetaClusterInfo, self string) (size int, leader string, peers []fc.JetStreamPeer) {
	peers = []fc.JetStreamPeer{}
	seen := map[string]bool{}
	if m.Leader != "" {
		peers = append(peers, fc.JetStreamPeer{Name: m.Leader, Leader: true, Current: true})
		seen[m.Leader] = true
	}
	for _, p := range m.Replicas {
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		peers = append(peers, fc.JetStreamPeer{Name: p.Name, Current: p.Current, Offline: p.Offline,
			ActiveMs: p.Active.Milliseconds(), Lag: p.Lag})
	}
	if !seen[self] {
		peers = append(peers, fc.JetStreamPeer{Name: self, Current: true})
	}
	slices.SortFunc(peers, func(a, b fc.JetStreamPeer) int { return strings.Compare(a.Name, b.Name) })
	return max(m.Size, len(peers)), m.Leader, peers
}

// streamStatus counts a stream's replicas by state: the leader and
// current followers are current, an offline one offline, the rest
// lagging.
func streamStatus(si *jetstream.StreamInfo) fc.StreamStatus {
	st := fc.StreamStatus{Name: si.Config.Name, Replicas: max(1, si.Config.Replicas), Messages: si.State.Msgs, Bytes: si.State.Bytes}
	if si.Cluster == nil {
		st.Current = 1 // a single server's stream: the server answering
		return st
	}
	st.Leader = si.Cluster.Leader
	if st.Leader != "" {
		st.Current++
	}
	for _, p := range si.Cluster.Replicas {
		switch {
		case p.Offline:
			st.Offline++
		case p.Current:
			st.Current++
		default:
			st.Lagging++
		}
	}
	if st.Replicas == 1 && st.Leader == "" {
		st.Current = 1
	}
	return st
}

// streamPeers are the servers hosting the streams, for a client of an
// external cluster: each as current when some stream has it current or
// leading, offline when every stream that names it says so.
func streamPeers(streams []*jetstream.StreamInfo) []fc.JetStreamPeer {
	byName := map[string]*fc.JetStreamPeer{}
	peer := func(name string) *fc.JetStreamPeer {
		if p, ok := byName[name]; ok {
			return p
		}
		p := &fc.JetStreamPeer{Name: name, Offline: true}
		byName[name] = p
		return p
	}
	for _, si := range streams {
		if si.Cluster == nil {
			continue
		}
		if si.Cluster.Leader != "" {
			p := peer(si.Cluster.Leader)
			p.Current, p.Offline = true, false
		}
		for _, r := range si.Cluster.Replicas {
			p := peer(r.Name)
			if !r.Offline {
				p.Offline = false
				p.Current = p.Current || r.Current
			}
		}
	}
	out := make([]fc.JetStreamPeer, 0, len(byName))
	for _, p := range byName {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b fc.JetStreamPeer) int { return strings.Compare(a.Name, b.Name) })
	return out
}
