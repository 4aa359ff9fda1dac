package natsx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ClusterName is the NATS cluster name of openfc's embedded servers.
const ClusterName = "openfc"

// ClusterStoreDir is where a clustered embedded server keeps its
// JetStream store, under the data dir: apart from a single node's
// DataDir/jetstream, which a clustered server would take for orphaned
// streams and delete (the migration copies it over instead, migrate.go).
const ClusterStoreDir = "cluster"

// clusterWaitLog is how often a node waiting for its cluster says so.
const clusterWaitLog = 5 * time.Second

// routeErrorReports: the server logs a failing route's error at every
// routeErrorReports-th try (one a second).
const routeErrorReports = 60

// Cluster makes the embedded server one of a cluster of openfc nodes:
// routes to every peer, JetStream clustered (its meta group and each
// stream's replicas are Raft groups over the nodes).
type Cluster struct {
	// NodeName is the server's name, unique in the cluster.
	NodeName string
	// Listen is the route listener, "host:port"; empty: not clustered.
	Listen string
	// Peers are the other nodes' route listeners, "host:port".
	Peers []string
}

func (c Cluster) clustered() bool { return c.Listen != "" }

// apply sets the server options of a clustered node: its name, the route
// listener and routes, a store apart from a single node's and a client
// listener (the server starts its routes only once clients can connect;
// loopback with a free port when --nats-listen gives none).
func (c Cluster) apply(sopts *server.Options, dataDir string) error {
	if !c.clustered() {
		return nil
	}
	if c.NodeName == "" {
		return fmt.Errorf("natsx: a clustered node needs a name")
	}
	host, port, err := splitListen(c.Listen)
	if err != nil {
		return err
	}
	sopts.ServerName = c.NodeName
	sopts.StoreDir = filepath.Join(dataDir, ClusterStoreDir)
	sopts.Cluster = server.ClusterOpts{Name: ClusterName, Host: host, Port: port}
	// A peer lost is retried every second; its error is logged at the
	// first try and then once a minute (routeErrorReports), the tries
	// between at debug, rather than four error lines a second (one per
	// pooled route) for as long as the peer is down.
	sopts.ReconnectErrorReports = routeErrorReports
	for _, p := range c.Peers {
		u, err := url.Parse("nats://" + p)
		if err != nil || u.Host != p {
			return fmt.Errorf("natsx: peer %q: give HOST:PORT", p)
		}
		sopts.Routes = append(sopts.Routes, u)
	}
	if sopts.DontListen {
		sopts.DontListen = false
		sopts.Host, sopts.Port = "127.0.0.1", server.RANDOM_PORT
	}
	return nil
}

// waitJetStream returns once JetStream answers. A single server answers at
// once; a clustered one once its meta group has a leader, which takes a
// quorum of the nodes: the first node of a new cluster waits for the
// second, saying so every few seconds, until ctx ends. An external NATS
// (--nats) may be a cluster electing its meta leader too (all its servers
// started together, or one of them restarted): a request that gets no
// answer is tried again; any other error (no JetStream there) ends the
// wait at once.
func (c *Conn) waitJetStream(ctx context.Context, js jetstream.JetStream, o Options) error {
	clustered := o.Cluster.clustered()
	start := time.Now()
	lastLog := start
	// A request before the meta group has a leader gets no answer at
	// all, and the one after answers at once: short first tries, longer
	// ones for a loaded server.
	attempt := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		_, err := js.AccountInfo(actx)
		cancel()
		attempt = min(2*attempt, 2*time.Second)
		switch {
		case err == nil && clustered:
			c.sl.setJoined()
			c.log.Info("joined the JetStream cluster", "node", o.Cluster.NodeName, "routes", c.ns.NumRoutes(),
				"peers", c.ns.JetStreamClusterPeers(), "after", time.Since(start).Round(time.Millisecond))
			return nil
		case err == nil:
			return nil
		case ctx.Err() != nil && clustered:
			return fmt.Errorf("natsx: the JetStream cluster did not form (routes to %d of %d peers): %w", c.ns.NumRoutes(), len(o.Cluster.Peers), err)
		case ctx.Err() != nil || (!clustered && !unanswered(err)):
			return fmt.Errorf("natsx: jetstream is not available: %w", err)
		}
		if time.Since(lastLog) >= clusterWaitLog {
			lastLog = time.Now()
			if clustered {
				c.log.Info("waiting for the JetStream cluster: a quorum of nodes must be up", "node", o.Cluster.NodeName,
					"routes", c.ns.NumRoutes(), "peers", len(o.Cluster.Peers), "err", err)
			} else {
				c.log.Info("waiting for JetStream to answer (a cluster electing its leader?)", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// unanswered says whether err means a request got no answer in time.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// KnownServers is how many servers the client connection knows of: for
// an external cluster, its servers as their INFO lists them.
func (c *Conn) KnownServers() int {
	seen := map[string]bool{}
	for _, s := range c.NC.Servers() {
		if u, err := url.Parse(s); err == nil {
			seen[u.Host] = true
		}
	}
	return max(1, len(seen))
}

// NodeName is the embedded server's name ("" with an external NATS).
func (c *Conn) NodeName() string {
	if c.ns == nil {
		return ""
	}
	return c.ns.Name()
}
