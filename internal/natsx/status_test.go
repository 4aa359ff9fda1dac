package natsx

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// A follower's view of the meta group: the leader and the other peers
// as replicas, itself added as current.
func TestMetaPeers(t *testing.T) {
	size, leader, peers := metaPeers(&server.MetaClusterInfo{Size: 3, Leader: "n1", Replicas: []*server.PeerInfo{
		{Name: "n1", Current: true},
		{Name: "n3", Offline: true, Active: 7 * time.Second, Lag: 4},
	}}, "n2")
	if size != 3 || leader != "n1" || len(peers) != 3 {
		t.Fatalf("size %d, leader %q, peers %+v", size, leader, peers)
	}
	if p := peers[0]; p.Name != "n1" || !p.Leader || !p.Current {
		t.Errorf("leader: %+v", p)
	}
	if p := peers[1]; p.Name != "n2" || !p.Current {
		t.Errorf("self: %+v", p)
	}
	if p := peers[2]; p.Name != "n3" || !p.Offline || p.Current || p.ActiveMs != 7000 || p.Lag != 4 {
		t.Errorf("offline peer: %+v", p)
	}
}

func TestStreamStatusCounts(t *testing.T) {
	si := &jetstream.StreamInfo{Config: jetstream.StreamConfig{Name: "KV_openfc_services", Replicas: 3},
		State: jetstream.StreamState{Msgs: 5, Bytes: 100},
		Cluster: &jetstream.ClusterInfo{Leader: "n1", Replicas: []*jetstream.PeerInfo{
			{Name: "n2", Current: false}, {Name: "n3", Offline: true}}}}
	st := streamStatus(si)
	if st.Leader != "n1" || st.Current != 1 || st.Lagging != 1 || st.Offline != 1 || st.Replicas != 3 || st.Messages != 5 {
		t.Errorf("status %+v", st)
	}
	peers := streamPeers([]*jetstream.StreamInfo{si})
	if len(peers) != 3 || !peers[0].Current || peers[1].Current || peers[1].Offline || !peers[2].Offline {
		t.Errorf("peers %+v", peers)
	}
}

// A single embedded server: one server, no meta group, openfc's streams
// only.
func TestStatusSingleServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"openfc_a", "other"} {
		if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
			t.Fatal(err)
		}
	}
	info, err := c.Status(ctx, "openfc")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode != "embedded" || info.ClusterSize != 1 || info.MetaLeader != "" || len(info.Streams) != 1 || info.Streams[0].Name != "openfc_a" || info.Streams[0].Current != 1 {
		t.Errorf("status %+v", info)
	}
}
