package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/pkg/client"
)

// fixedCluster answers one status.
type fixedCluster struct{ st *fc.ClusterStatus }

func (f fixedCluster) ClusterStatus(context.Context) *fc.ClusterStatus { return f.st }

func TestClusterStatusCommand(t *testing.T) {
	started := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	status := &fc.ClusterStatus{
		Node: "n1",
		Nodes: []fc.ClusterNode{
			{Node: fc.Node{Name: "n1", URL: "http://10.0.0.1:8080", Cluster: "10.0.0.1:6222", Started: started, Seen: started.Add(time.Minute), Instances: 2}, Live: true},
			{Node: fc.Node{Name: "n3", URL: "http://10.0.0.3:8080", Cluster: "10.0.0.3:6222", Started: started, Seen: started}, Live: false},
		},
		JetStream: fc.JetStreamInfo{Mode: fc.JetStreamEmbedded, ClusterSize: 3, Replicas: 3, MetaLeader: "n1",
			Peers:   []fc.JetStreamPeer{{Name: "n1", Leader: true, Current: true}, {Name: "n3", Offline: true}},
			Streams: []fc.StreamStatus{{Name: "KV_openfc_services", Replicas: 3, Leader: "n1", Current: 2, Offline: 1, Messages: 4, Bytes: 512}}},
	}
	_, _, runner := apiCLI(t, func(o *api.Options, _ *store.JetStream, _ *auth.Keys) { o.Cluster = fixedCluster{status} })
	run := runner.admin

	code, out, errOut := run("cluster", "status")
	if code != 0 {
		t.Fatalf("cluster status: %d %q", code, errOut)
	}
	for _, want := range []string{
		"node n1; JetStream embedded (3 servers), 3 replicas, meta leader n1",
		"n3    no ", "http://10.0.0.1:8080", "10.0.0.3:6222",
		"n3      no      no       yes",
		"KV_openfc_services  3         n1      2        0        1        4         512",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster status does not print %q:\n%s", want, out)
		}
	}
	code, out, errOut = run("cluster", "status", "--json")
	var got client.ClusterStatus
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("cluster status --json: %d %q %q", code, out, errOut)
	}
	if got.Node != "n1" || len(got.Nodes) != 2 || got.Nodes[1].Live || got.JetStream.MetaLeader != "n1" || got.JetStream.Streams[0].Offline != 1 {
		t.Errorf("cluster status --json: %+v", got)
	}
}
