package client

import (
	"context"
	"net/http"
)

// ClusterStatus is the state of the cluster a server is one of (an
// openfc extension to FC's API, the admin key's only): the node that
// answered, the nodes it hears from, and the JetStream under them.
type ClusterStatus struct {
	// Node is the name of the node that answered.
	Node      string        `json:"node"`
	Nodes     []ClusterNode `json:"nodes"`
	JetStream JetStreamInfo `json:"jetstream"`
}

// ClusterNode is one node as it last announced itself, and whether the
// answering node takes it for live (heard from within the last 6 s).
type ClusterNode struct {
	Name string `json:"name"`
	// URL is its front door; Admin its admin listener; Cluster its NATS
	// route listener (embedded cluster only).
	URL     string `json:"url"`
	Admin   string `json:"admin,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Started and Seen are RFC 3339 times: when it started, when it
	// last announced itself (its own clock).
	Started   string `json:"started"`
	Seen      string `json:"seen"`
	Instances int    `json:"instances"`
	Live      bool   `json:"live"`
}

// JetStreamInfo is the JetStream the nodes share: Mode "embedded" or
// "external", the cluster's size, the replicas openfc asks for, the meta
// leader (empty when none, or unknown for an external cluster), the
// servers and openfc's streams. Error says why the streams could not be
// listed, when they could not.
type JetStreamInfo struct {
	Mode        string          `json:"mode"`
	ClusterSize int             `json:"clusterSize"`
	Replicas    int             `json:"replicas"`
	MetaLeader  string          `json:"metaLeader,omitempty"`
	Peers       []JetStreamPeer `json:"peers"`
	Streams     []StreamStatus  `json:"streams"`
	Error       string          `json:"error,omitempty"`
}

// JetStreamPeer is one JetStream server.
type JetStreamPeer struct {
	Name     string `json:"name"`
	Leader   bool   `json:"leader,omitempty"`
	Current  bool   `json:"current"`
	Offline  bool   `json:"offline,omitempty"`
	ActiveMs int64  `json:"activeMs,omitempty"`
	Lag      uint64 `json:"lag,omitempty"`
}

// StreamStatus is one of openfc's streams: its leader and how many of
// its replicas are current, lagging and offline.
type StreamStatus struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
	Leader   string `json:"leader,omitempty"`
	Current  int    `json:"current"`
	Lagging  int    `json:"lagging"`
	Offline  int    `json:"offline"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// ClusterStatus returns the status of the cluster the server is one of.
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	var out ClusterStatus
	if _, err := c.Do(ctx, http.MethodGet, apiPath("cluster"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
