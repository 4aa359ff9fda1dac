package natsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file keeps a single node's data when the node joins a cluster: its
// store, DataDir/jetstream, is copied stream by stream into the cluster,
// then renamed aside (kept, never deleted). A clustered server cannot
// adopt the store in place: the streams there are not Raft groups, and a
// clustered server takes streams its meta group does not know for
// orphans and deletes them.

// The data dir's layout around a migration.
const (
	// singleNodeStore is a single node's JetStream store, under the data
	// dir (the server appends "jetstream" to its StoreDir).
	singleNodeStore = "jetstream"
	// migrationMarker lists the streams a copy has begun to write into
	// the cluster; it exists only while a copy runs (or was cut short).
	migrationMarker = "jetstream.migrating"
	// keptPrefix + UTC time is the name the old store is kept under.
	keptPrefix = "jetstream.single-node-"
)

// ephemeralAge: a stream whose messages live less than this holds state
// of the moment (node heartbeats, leases) that its writers renew; it is
// neither copied nor counted against the cluster's.
const ephemeralAge = time.Minute

// Copying: each request to either server is bounded by copyRequest; the
// publishes in flight by copyWindow messages or copyWindowBytes.
const (
	copyRequest     = 10 * time.Second
	copyWindow      = 64
	copyWindowBytes = 8 << 20
)

// Migration says how a clustered node copies its single-node store.
type Migration struct {
	// DataDir is the node's data dir.
	DataDir string
	// Replicas is the replica count of the streams created in the
	// cluster (the node's --replicas).
	Replicas int
}

// Migrated is what a migration copied.
type Migrated struct {
	// Streams and Messages copied (a stream created empty counts too);
	// Bytes of their headers and data.
	Streams, Messages int
	Bytes             int64
	// Skipped are the ephemeral streams left out (ephemeralAge).
	Skipped []string
	// KeptAs is where the old store now is.
	KeptAs string
}

// ErrClusterHoldsData is in the error of a migration refused because the
// cluster already holds messages where the node's data would go.
var ErrClusterHoldsData = errors.New("the cluster already holds data")

// HasSingleNodeStore reports whether dataDir still holds a single node's
// store, which MigrateSingleNode would copy.
func HasSingleNodeStore(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, singleNodeStore))
	return err == nil
}

// MigrateSingleNode copies the node's single-node store, when its data
// dir still has one, into the cluster c is connected to, then renames the
// old store aside. It returns nil, nil when there is nothing to migrate.
//
// A stream absent from the cluster is created with the old one's
// configuration and m.Replicas; a stream present there without messages
// (other nodes of a new cluster create openfc's buckets empty) is filled.
// If the cluster holds messages in a stream the node would copy into,
// nothing is changed and the error (ErrClusterHoldsData) names the
// streams and what to do.
//
// A copy cut short (crash, error) leaves the old store in place and the
// marker naming the streams it began to fill: the next start empties
// those and fills them again.
func (c *Conn) MigrateSingleNode(ctx context.Context, m Migration) (*Migrated, error) {
	dir := filepath.Join(m.DataDir, singleNodeStore)
	marker := filepath.Join(m.DataDir, migrationMarker)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// Done before (a crash after the rename may have left the marker).
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("natsx: removing the migration marker: %w", err)
		}
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("natsx: single-node store: %w", err)
	}
	begun, err := readMarker(marker)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	src, err := openStandalone(m.DataDir)
	if err != nil {
		return nil, err
	}
	defer src.close()
	mg := &migration{Migration: m, src: src, dst: c, marker: marker, begun: begun}
	plan, err := mg.plan(ctx)
	if err != nil {
		return nil, err
	}
	res := &Migrated{}
	for _, p := range plan {
		if p.skip {
			res.Skipped = append(res.Skipped, p.cfg.Name)
			continue
		}
		n, b, err := mg.copyStream(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("natsx: copying stream %s into the cluster (the single-node store is untouched; the next start copies it again): %w", p.cfg.Name, err)
		}
		res.Streams++
		res.Messages += n
		res.Bytes += b
	}
	src.close()
	res.KeptAs = filepath.Join(m.DataDir, keptPrefix+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(dir, res.KeptAs); err != nil {
		return nil, fmt.Errorf("natsx: copied the single-node store into the cluster, but renaming it aside: %w", err)
	}
	if err := syncDir(m.DataDir); err != nil {
		return nil, err
	}
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("natsx: removing the migration marker: %w", err)
	}
	c.log.Info(fmt.Sprintf("migrated the single-node store into the cluster: %d streams, %d messages, %d bytes; the old store is kept as %s",
		res.Streams, res.Messages, res.Bytes, res.KeptAs),
		"streams", res.Streams, "messages", res.Messages, "bytes", res.Bytes, "skipped", res.Skipped,
		"replicas", m.Replicas, "took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// migration is one run of MigrateSingleNode.
type migration struct {
	Migration
	src    *standalone
	dst    *Conn
	marker string
	// begun are the streams an earlier, cut-short copy wrote into.
	begun []string
}

// streamPlan is what to do with one stream of the old store.
type streamPlan struct {
	cfg  jetstream.StreamConfig
	msgs uint64 // in the old store
	// skip: ephemeral, left out.
	skip bool
}

// plan lists the old store's streams and checks each against the
// cluster, changing nothing. Streams the cluster holds messages in are
// refused together, in one error.
func (mg *migration) plan(ctx context.Context) ([]streamPlan, error) {
	var plan []streamPlan
	lister := mg.src.js.ListStreams(ctx)
	for si := range lister.Info() {
		p := streamPlan{cfg: si.Config, msgs: si.State.Msgs}
		p.skip = p.cfg.MaxAge > 0 && p.cfg.MaxAge < ephemeralAge
		plan = append(plan, p)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("natsx: listing the single-node store's streams: %w", err)
	}
	slices.SortFunc(plan, func(a, b streamPlan) int { return strings.Compare(a.cfg.Name, b.cfg.Name) })
	var held []string
	for _, p := range plan {
		if p.skip || p.msgs == 0 || slices.Contains(mg.begun, p.cfg.Name) {
			continue
		}
		n, err := mg.clusterMsgs(ctx, p.cfg.Name)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			held = append(held, fmt.Sprintf("%s (%d messages)", p.cfg.Name, n))
		}
	}
	if len(held) > 0 {
		return nil, mg.refusal(held)
	}
	return plan, nil
}

// refusal explains a refused migration.
func (mg *migration) refusal(held []string) error {
	dir := filepath.Join(mg.DataDir, singleNodeStore)
	return fmt.Errorf("natsx: this node's single-node data (%s) cannot join the cluster: %w in %s, where this node's data would go; "+
		"nothing was copied or renamed. To join with no data of its own: stop the node, move %s out of the data dir (keep it as a backup) and start it again. "+
		"To keep this node's data instead: start it as the first node of a new cluster whose other nodes have empty data dirs "+
		"(or alone, without cluster flags, after moving %s away)",
		dir, ErrClusterHoldsData, strings.Join(held, ", "), dir, filepath.Join(mg.DataDir, ClusterStoreDir))
}

// clusterMsgs is how many messages the cluster's stream name holds (0
// when it does not exist).
func (mg *migration) clusterMsgs(ctx context.Context, name string) (uint64, error) {
	st, err := mg.clusterState(ctx, name)
	return st.Msgs, err
}

// clusterState is the state of the cluster's stream name (zero when it
// does not exist), read from its leader.
func (mg *migration) clusterState(ctx context.Context, name string) (jetstream.StreamState, error) {
	var state jetstream.StreamState
	err := RetryPlacement(ctx, func(ctx context.Context) error {
		st, err := mg.dst.JS.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			state = jetstream.StreamState{}
			return nil
		}
		if err != nil {
			return err
		}
		state = st.CachedInfo().State
		return nil
	})
	if err != nil {
		return state, fmt.Errorf("natsx: reading the cluster's stream %s: %w", name, err)
	}
	return state, nil
}

// readMarker returns the streams listed in the marker (none without one).
func readMarker(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsx: reading the migration marker: %w", err)
	}
	var mk struct {
		Streams []string `json:"streams"`
	}
	if err := json.Unmarshal(b, &mk); err != nil {
		return nil, fmt.Errorf("natsx: migration marker %s: %w", path, err)
	}
	return mk.Streams, nil
}

// writeMarker records streams durably (written aside, synced, renamed
// over the marker), before the copy writes into the last of them.
func writeMarker(path string, streams []string) error {
	b, err := json.Marshal(struct {
		Streams []string `json:"streams"`
	}{streams})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("natsx: migration marker: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("natsx: migration marker: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("natsx: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("natsx: sync %s: %w", dir, err)
	}
	return nil
}

// standalone is a temporary in-process server on the old store: no
// listener, JetStream on, nothing else.
type standalone struct {
	ns *server.Server
	nc *nats.Conn
	js jetstream.JetStream
}

func openStandalone(dataDir string) (*standalone, error) {
	ns, err := server.NewServer(&server.Options{
		ServerName:         "openfc-single-node",
		JetStream:          true,
		StoreDir:           dataDir, // the server appends "jetstream"
		JetStreamMaxMemory: embeddedMaxMemory,
		JetStreamMaxStore:  embeddedMaxStore,
		DontListen:         true,
		NoSigs:             true,
		NoLog:              true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsx: opening the single-node store: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		shutdown(ns)
		return nil, fmt.Errorf("natsx: the single-node store in %s did not open within %s", filepath.Join(dataDir, singleNodeStore), readyTimeout)
	}
	s := &standalone{ns: ns}
	if s.nc, err = nats.Connect("", nats.InProcessServer(ns), nats.Name(clientName+"-migrate")); err != nil {
		s.close()
		return nil, fmt.Errorf("natsx: connecting to the single-node store: %w", err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.close()
		return nil, fmt.Errorf("natsx: jetstream on the single-node store: %w", err)
	}
	return s, nil
}

// close stops the server; it is safe to call more than once.
func (s *standalone) close() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		shutdown(s.ns)
		s.ns = nil
	}
}

// checkClusterDir refuses to start a single node on a data dir that holds
// a clustered node's store: its data is the cluster's, and starting
// afresh beside it would look like a platform that lost everything.
func checkClusterDir(o Options) error {
	if o.Cluster.clustered() {
		return nil
	}
	dir := filepath.Join(o.DataDir, ClusterStoreDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("natsx: %w", err)
	}
	return fmt.Errorf("natsx: the data dir %s belongs to a node of a cluster (%s holds its clustered store), but no cluster flags were given: "+
		"start it with its cluster flags (--cluster-listen, --peers, --node-name) to rejoin its cluster, or, to start a fresh single node here, move %s out of the data dir",
		o.DataDir, dir, dir)
}
