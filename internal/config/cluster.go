package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/spf13/pflag"
)

// Cluster says how a node joins others. The zero value is a single node:
// the embedded NATS server alone, exactly as without any cluster flag.
type Cluster struct {
	// NodeName names this node: the embedded NATS server's name (unique
	// in a cluster), the node label on /metrics, the node column of
	// `openfc cluster status`. Empty: see NodeNameOr.
	NodeName string
	// Listen is the embedded NATS server's cluster (route) listener,
	// "host:port". Set, it makes the embedded server one of a cluster.
	Listen string
	// Peers are the other nodes' cluster listeners, "host:port" each.
	Peers []string
	// Replicas is how many copies JetStream keeps of openfc's buckets and
	// streams when it creates them; 0 means min(3, cluster size).
	Replicas int
}

// Clustered reports whether the embedded server joins a cluster.
func (c *Cluster) Clustered() bool { return c.Listen != "" }

// Size is the number of nodes of an embedded cluster: this one and its
// distinct peers (its own address, if listed among them, counted once).
func (c *Cluster) Size() int {
	if !c.Clustered() {
		return 1
	}
	n := 1
	seen := map[string]bool{c.Listen: true}
	for _, p := range c.Peers {
		if !seen[p] {
			seen[p] = true
			n++
		}
	}
	return n
}

// ReplicasFor is the replica count of openfc's buckets and streams on a
// cluster of size nodes: --replicas when given, else min(3, size).
func (c *Cluster) ReplicasFor(size int) int {
	if c.Replicas > 0 {
		return c.Replicas
	}
	return max(1, min(3, size))
}

// NodeNameOr is the node's name: --node-name, else the host name (with
// the cluster port in a cluster, so that several nodes on one machine
// differ).
func (c *Cluster) NodeNameOr(hostname string) string {
	if c.NodeName != "" {
		return c.NodeName
	}
	if hostname == "" {
		hostname = "openfc"
	}
	if _, port, err := net.SplitHostPort(c.Listen); err == nil && c.Clustered() {
		return hostname + "-" + port
	}
	return hostname
}

// The cluster flags.
const (
	FlagNodeName      = "node-name"
	FlagClusterListen = "cluster-listen"
	FlagPeers         = "peers"
	FlagReplicas      = "replicas"
)

func registerClusterFlags(fs *pflag.FlagSet, o *Options) {
	c := &o.Cluster
	fs.StringVar(&c.NodeName, FlagNodeName, c.NodeName, "this node's name in a cluster (default: the host name)")
	fs.StringVar(&c.Listen, FlagClusterListen, c.Listen, "embedded NATS cluster (route) address, e.g. 127.0.0.1:6222: makes this node one of a cluster")
	fs.StringSliceVar(&c.Peers, FlagPeers, c.Peers, "the other nodes' cluster addresses, HOST:PORT[,HOST:PORT…]")
	fs.IntVar(&c.Replicas, FlagReplicas, c.Replicas, "copies JetStream keeps of openfc's data (default min(3, cluster size))")
}

// validateCluster checks the cluster flags against each other and --nats.
func (o *Options) validateCluster() error {
	c := &o.Cluster
	switch {
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("--%s %d: give 1 to 5 (JetStream's largest replica count)", FlagReplicas, c.Replicas)
	case len(c.Peers) > 0 && c.Listen == "":
		return fmt.Errorf("--%s needs --%s (this node's own cluster address)", FlagPeers, FlagClusterListen)
	case c.Listen != "" && o.NATSURL != "":
		return fmt.Errorf("--%s clusters the embedded NATS server; with --nats the external cluster does that: give one or the other", FlagClusterListen)
	case c.Listen != "" && len(c.Peers) == 0:
		return fmt.Errorf("--%s needs --%s: the other nodes' cluster addresses", FlagClusterListen, FlagPeers)
	}
	for _, a := range append([]string{c.Listen}, c.Peers...) {
		if a == "" {
			continue
		}
		if err := checkHostPort(a); err != nil {
			return err
		}
	}
	if c.Clustered() && c.Replicas > c.Size() {
		return fmt.Errorf("--%s %d is more than the %d nodes --%s names", FlagReplicas, c.Replicas, c.Size(), FlagPeers)
	}
	if slices.Contains(c.Peers, c.Listen) && c.Size() == 1 {
		return errors.New("--peers names only this node")
	}
	return nil
}

func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("cluster address %q: %w", a, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("cluster address %q: give HOST:PORT with a port from 1 to 65535", a)
	}
	return nil
}

// SharedStore reports whether other openfc nodes may use the JetStream
// this node uses (an external NATS, an embedded cluster, or the embedded
// server exposed on TCP): then what this node sees of it is not all there
// is (other nodes' instances, writes in flight).
func (o *Options) SharedStore() bool {
	return o.NATSURL != "" || o.NATSListen != "" || o.Cluster.Clustered()
}
