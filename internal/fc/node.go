package fc

import "time"

// Node is one openfc node as the cluster sees it: what it announces
// about itself every few seconds (the nodes bucket), and what `openfc
// cluster status` lists. A node not heard from for NodeTTL is gone.
type Node struct {
	// Name is the node's name (--node-name), unique in the cluster.
	Name string `json:"name"`
	// URL is the node's front door ("http://host:port"): where another
	// node forwards a request to an instance of this one.
	URL string `json:"url"`
	// Admin is its admin listener (/healthz, /metrics), when it has one.
	Admin string `json:"admin,omitempty"`
	// Cluster is its NATS route listener (embedded cluster only).
	Cluster string `json:"cluster,omitempty"`
	// Started is when the node started; Seen when it last announced
	// itself (its own clock).
	Started time.Time `json:"started"`
	Seen    time.Time `json:"seen"`
	// Instances counts its running instances at Seen.
	Instances int `json:"instances"`
}

// Node liveness: a node announces itself every NodeHeartbeat and is
// taken for gone when no announcement arrived for NodeTTL.
const (
	NodeHeartbeat = 2 * time.Second
	NodeTTL       = 3 * NodeHeartbeat
)

// AdminMark is the admin key check the nodes sharing a store agree on
// (internal/auth.CheckSharedAdmin): the admin key's id and a text sealed
// under its secret.
type AdminMark struct {
	AccessKeyID string `json:"accessKeyId"`
	Sealed      []byte `json:"sealed"`
}
