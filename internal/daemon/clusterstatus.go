package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/fc"
)

// clusterStatusTimeout bounds the JetStream questions of one status: a
// cluster without quorum answers stream info late or never, and the
// status is most wanted then.
const clusterStatusTimeout = 5 * time.Second

// openfcStreams is what the names of openfc's streams contain (its KV
// buckets' KV_openfc_…, object stores' OBJ_openfc_…, openfc_async).
const openfcStreams = "openfc"

// ClusterStatus is `openfc cluster status`: this node, the nodes it
// hears from, and the JetStream they share (api.Cluster). When the
// streams cannot be listed (no quorum) it still answers, with the nodes,
// the meta group and the error.
func (d *Daemon) ClusterStatus(ctx context.Context) *fc.ClusterStatus {
	st := &fc.ClusterStatus{Node: d.nodeName, Nodes: []fc.ClusterNode{}}
	nodes, live := d.nodes.All()
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, fc.ClusterNode{Node: n, Live: live[n.Name]})
	}
	ctx, cancel := context.WithTimeout(ctx, clusterStatusTimeout)
	defer cancel()
	js, err := d.nats.Status(ctx, openfcStreams)
	if err != nil {
		js.Error = err.Error()
	}
	js.Replicas = d.replicas
	st.JetStream = js
	return st
}

// serveClusterStatus is the admin listener's GET /cluster: the same JSON
// as the management API's, unsigned (the admin listener is the
// operator's).
func (d *Daemon) serveClusterStatus(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(d.ClusterStatus(r.Context()))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

var _ api.Cluster = (*Daemon)(nil)
