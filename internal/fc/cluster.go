package fc

// ClusterStatus is what `openfc cluster status` shows, as the management
// API's GET /2016-08-15/cluster and the admin listener's GET /cluster
// both answer it: the node that answered, the nodes it hears from, and
// the JetStream underneath.
type ClusterStatus struct {
	// Node is the name of the node that answered.
	Node string `json:"node"`
	// Nodes are every node the nodes bucket still holds, by name, live
	// or not.
	Nodes     []ClusterNode `json:"nodes"`
	JetStream JetStreamInfo `json:"jetstream"`
}

// ClusterNode is one node's announcement and whether it is live (heard
// from within NodeTTL by the node that answered).
type ClusterNode struct {
	Node
	Live bool `json:"live"`
}

// JetStream modes of a ClusterStatus.
const (
	JetStreamEmbedded = "embedded"
	JetStreamExternal = "external"
)

// JetStreamInfo is the JetStream the nodes share.
type JetStreamInfo struct {
	// Mode is JetStreamEmbedded or JetStreamExternal (--nats).
	Mode string `json:"mode"`
	// ClusterSize is the servers of the JetStream cluster (1 for a single
	// server); Replicas the copies openfc asks for what it creates.
	ClusterSize int `json:"clusterSize"`
	Replicas    int `json:"replicas"`
	// MetaLeader is the server leading the JetStream meta group ("" when
	// none is elected, or not known: a client of an external cluster
	// without its system account cannot ask).
	MetaLeader string `json:"metaLeader,omitempty"`
	// Peers are the JetStream servers known: for the embedded server the
	// meta group's, for an external cluster those that host openfc's
	// streams.
	Peers   []JetStreamPeer `json:"peers"`
	Streams []StreamStatus  `json:"streams"`
	// Error says why the streams could not be listed (a cluster without
	// quorum answers late or not at all); what was learnt is still there.
	Error string `json:"error,omitempty"`
}

// JetStreamPeer is one JetStream server as the meta group (or a stream's
// group, for an external cluster) sees it.
type JetStreamPeer struct {
	Name    string `json:"name"`
	Leader  bool   `json:"leader,omitempty"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline,omitempty"`
	// ActiveMs is how long ago the leader last heard from it, in
	// milliseconds (0 for the leader itself or when unknown).
	ActiveMs int64 `json:"activeMs,omitempty"`
	// Lag is how many operations it is behind the leader.
	Lag uint64 `json:"lag,omitempty"`
}

// StreamStatus is one of openfc's streams (a KV bucket's, an object
// store's, the async queue's) and the state of its replicas.
type StreamStatus struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
	// Leader is the server leading its group ("" when none: the stream
	// cannot be written).
	Leader string `json:"leader,omitempty"`
	// Current, Lagging and Offline count its replicas, the leader's
	// included (current): caught up, behind, not heard from.
	Current  int    `json:"current"`
	Lagging  int    `json:"lagging"`
	Offline  int    `json:"offline"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}
