package daemon

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/pkg/fcsign"
)

// This file is the node's place in a cluster: its name, the NATS it
// uses (embedded alone, embedded in a cluster, or external), the replica
// count of what it creates there, and its announcements to the others.

// startNATS starts the embedded server (clustered with --cluster-listen)
// or connects to --nats, and settles the node's name and the replica
// count.
func (d *Daemon) startNATS(ctx context.Context) error {
	o := d.opts
	host, _ := os.Hostname()
	d.nodeName = o.Cluster.NodeNameOr(host)
	var err error
	d.nats, err = natsx.Start(ctx, natsx.Options{
		DataDir: o.DataDir, URL: o.NATSURL, Listen: o.NATSListen, SyncAlways: o.SyncAlways,
		Cluster: natsx.Cluster{NodeName: d.nodeName, Listen: o.Cluster.Listen, Peers: o.Cluster.Peers},
		Logger:  d.log.With("component", "nats"),
	})
	if err != nil {
		return fmt.Errorf("starting NATS: %w", err)
	}
	size := o.Cluster.Size()
	if o.NATSURL != "" {
		size = d.nats.KnownServers()
	}
	d.replicas = o.Cluster.ReplicasFor(size)
	return nil
}

// keepSingleNodeData copies the store of a node that ran alone before
// into the cluster it now joins, before anything reads the store. Its
// access keys are sealed under its admin key, so the node first checks
// that the cluster uses the same one: joining with another would copy
// keys no node could open, and then refuse to start.
func (d *Daemon) keepSingleNodeData(ctx context.Context, cred fcsign.Credentials) error {
	o := d.opts
	if !o.Cluster.Clustered() || !natsx.HasSingleNodeStore(o.DataDir) {
		return nil
	}
	marks, err := store.OpenAdminMarks(ctx, d.nats.JS, d.replicas)
	if err != nil {
		return fmt.Errorf("keeping this node's single-node data: %w", err)
	}
	if err := auth.CheckSharedAdmin(ctx, marks, cred); err != nil {
		return fmt.Errorf("keeping this node's single-node data (left as it is): %w", err)
	}
	if _, err := d.nats.MigrateSingleNode(ctx, natsx.Migration{DataDir: o.DataDir, Replicas: d.replicas}); err != nil {
		return fmt.Errorf("keeping this node's single-node data: %w", err)
	}
	return nil
}

// openNodes binds the nodes bucket; startNodes announces this node
// there until Shutdown.
func (d *Daemon) openNodes(ctx context.Context) error {
	var err error
	d.nodes, err = store.OpenNodes(ctx, d.nats.JS, d.replicas, d.log.With("component", "nodes"))
	return err
}

func (d *Daemon) startNodes(ctx context.Context) {
	started := time.Now().UTC()
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stopNodes = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.nodes.Run(nctx, func() fc.Node { return d.self(started) })
	}()
}

// self is what this node announces.
func (d *Daemon) self(started time.Time) fc.Node {
	return fc.Node{
		Name:      d.nodeName,
		URL:       "http://" + d.ln.Addr().String(),
		Admin:     addrOf(d.adminLn),
		Cluster:   d.opts.Cluster.Listen,
		Started:   started,
		Instances: d.instances.Count(),
	}
}
