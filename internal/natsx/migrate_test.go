package natsx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startTestCluster starts n embedded nodes clustered on loopback, node i
// on dirs[i] when given, and returns their connections once JetStream
// answers on all.
func startTestCluster(t *testing.T, n int, dirs ...string) []*Conn {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	conns := make([]*Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dir := t.TempDir()
		if i < len(dirs) {
			dir = dirs[i]
		}
		var peers []string
		for j, p := range ports {
			if j != i {
				peers = append(peers, fmt.Sprintf("127.0.0.1:%d", p))
			}
		}
		wg.Go(func() {
			conns[i], errs[i] = Start(testCtx(t), Options{DataDir: dir, Cluster: Cluster{
				NodeName: fmt.Sprintf("n%d", i+1), Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Peers: peers}})
		})
	}
	wg.Wait()
	for i, c := range conns {
		if c != nil {
			t.Cleanup(c.Close)
		}
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i+1, errs[i])
		}
	}
	return conns
}

// singleNodeData fills a single node's store in dir: a KV bucket with an
// overwritten and a deleted key, an object of several chunks, a work
// queue with headers, and an ephemeral (heartbeat-like) bucket. It
// returns the object's content.
func singleNodeData(t *testing.T, dir, prefix string) []byte {
	t.Helper()
	ctx := testCtx(t)
	c, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kv, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: prefix + "meta", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	for _, kvp := range [][2]string{{"a", "1"}, {"b", "old"}, {"b", "2"}, {"gone", "x"}} {
		if _, err := kv.PutString(ctx, kvp[0], kvp[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	obs, err := c.JS.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: prefix + "code", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 KB: 5 chunks
	if _, err := obs.PutBytes(ctx, "f.zip", blob); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: prefix + "async", Subjects: []string{prefix + "async.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := nats.NewMsg(fmt.Sprintf("%sasync.svc.fn%d", prefix, i))
		m.Data = fmt.Appendf(nil, "req-%d", i)
		m.Header.Set("X-Retried", fmt.Sprint(i))
		if _, err := c.JS.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("id-%d", i)), jetstream.WithExpectStream(prefix+"async")); err != nil {
			t.Fatal(err)
		}
	}
	hb, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: prefix + "nodes", TTL: 30 * time.Second, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hb.PutString(ctx, "old-node", "alive"); err != nil {
		t.Fatal(err)
	}
	return blob
}

// inCluster runs op with RetryPlacement: a cluster just formed may
// not know all its peers yet.
func inCluster(t *testing.T, op func(ctx context.Context) error) {
	t.Helper()
	if err := RetryPlacement(testCtx(t), op); err != nil {
		t.Fatal(err)
	}
}

func migrate(t *testing.T, c *Conn, dir string) (*Migrated, error) {
	t.Helper()
	return c.MigrateSingleNode(testCtx(t), Migration{DataDir: dir, Replicas: 3})
}

func kept(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, keptPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMigrateSingleNodeIntoCluster(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	blob := singleNodeData(t, dir, "")
	nodes := startTestCluster(t, 3, dir)
	// Another node of the new cluster created a bucket, empty, first.
	inCluster(t, func(ctx context.Context) error {
		_, err := nodes[1].JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "meta", Storage: jetstream.FileStorage, Replicas: 3})
		return err
	})

	res, err := migrate(t, nodes[0], dir)
	if err != nil {
		t.Fatal(err)
	}
	// meta, code, async; not the ephemeral nodes bucket.
	if res.Streams != 3 || len(res.Skipped) != 1 || res.Skipped[0] != "KV_nodes" {
		t.Errorf("migrated %+v, want 3 streams and KV_nodes skipped", res)
	}
	// a, b (latest), the delete marker of gone; 5 chunks + 1 meta; 3 requests.
	if res.Messages != 3+6+3 || res.Bytes < int64(len(blob)) {
		t.Errorf("migrated %d messages, %d bytes; want 12 messages, over %d bytes", res.Messages, res.Bytes, len(blob))
	}
	if _, err := os.Stat(filepath.Join(dir, singleNodeStore)); !os.IsNotExist(err) {
		t.Errorf("the single-node store is still in place: %v", err)
	}
	if k := kept(t, dir); len(k) != 1 || res.KeptAs != k[0] {
		t.Errorf("kept as %q; the data dir has %v", res.KeptAs, k)
	} else if _, err := os.Stat(filepath.Join(k[0], "$G", "streams", "KV_meta")); err != nil {
		t.Errorf("the kept store lacks its streams: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, migrationMarker)); !os.IsNotExist(err) {
		t.Errorf("the migration marker is left: %v", err)
	}

	// Read through another node: the data is the cluster's, replicated.
	js := nodes[2].JS
	kv, err := js.KeyValue(ctx, "meta")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": "1", "b": "2"} {
		if e, err := kv.Get(ctx, k); err != nil || string(e.Value()) != want {
			t.Errorf("meta/%s = %v, %v; want %q", k, e, err, want)
		}
	}
	if _, err := kv.Get(ctx, "gone"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("deleted key: %v, want not found", err)
	}
	obs, err := js.ObjectStore(ctx, "code")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := obs.GetBytes(ctx, "f.zip"); err != nil || !bytes.Equal(got, blob) {
		t.Errorf("object: %d bytes, %v; want the %d stored", len(got), err, len(blob))
	}
	st, err := js.Stream(ctx, "async")
	if err != nil {
		t.Fatal(err)
	}
	if si := st.CachedInfo(); si.Config.Replicas != 3 || si.Config.Retention != jetstream.WorkQueuePolicy || si.State.Msgs != 3 {
		t.Errorf("async stream: replicas %d, retention %v, %d messages", si.Config.Replicas, si.Config.Retention, si.State.Msgs)
	}
	for i := range 3 {
		m, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != fmt.Sprintf("async.svc.fn%d", i) || string(m.Data) != fmt.Sprintf("req-%d", i) ||
			m.Header.Get("X-Retried") != fmt.Sprint(i) || m.Header.Get(jetstream.MsgIDHeader) != "" {
			t.Errorf("async message %d: %s %q %v", i+1, m.Subject, m.Data, m.Header)
		}
	}
	if _, err := js.Stream(ctx, "KV_nodes"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the ephemeral bucket was created: %v", err)
	}

	// A second start finds nothing to migrate and changes nothing.
	res, err = migrate(t, nodes[0], dir)
	if res != nil || err != nil {
		t.Fatalf("second migration: %+v, %v", res, err)
	}
	if k := kept(t, dir); len(k) != 1 {
		t.Errorf("after a second start the data dir keeps %v", k)
	}
	if e, err := kv.Get(ctx, "b"); err != nil || e.Revision() != 2 {
		t.Errorf("after a second start meta/b = %v, %v; want revision 2, as copied", e, err)
	}
}

func TestMigrateRefusesWhenClusterHoldsData(t *testing.T) {
	ctx := testCtx(t)
	nodes := startTestCluster(t, 3)
	dir := t.TempDir()
	singleNodeData(t, dir, "")
	// The cluster has a platform of its own: its meta and async hold data.
	var kv jetstream.KeyValue
	inCluster(t, func(ctx context.Context) (err error) {
		kv, err = nodes[1].JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "meta", Storage: jetstream.FileStorage, Replicas: 3})
		return err
	})
	if _, err := kv.PutString(ctx, "theirs", "v"); err != nil {
		t.Fatal(err)
	}
	inCluster(t, func(ctx context.Context) error {
		_, err := nodes[1].JS.CreateStream(ctx, jetstream.StreamConfig{Name: "async", Subjects: []string{"async.>"}, Replicas: 3})
		return err
	})
	if _, err := nodes[1].JS.Publish(ctx, "async.x.y", []byte("theirs")); err != nil {
		t.Fatal(err)
	}

	res, err := migrate(t, nodes[0], dir)
	if !errors.Is(err, ErrClusterHoldsData) {
		t.Fatalf("migration = %+v, %v; want a refusal", res, err)
	}
	for _, want := range []string{"KV_meta (1 messages)", "async (1 messages)", filepath.Join(dir, "jetstream"), "empty data dir", "nothing was copied or renamed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// Untouched: the old store in place, no marker, nothing created.
	if _, err := os.Stat(filepath.Join(dir, singleNodeStore)); err != nil {
		t.Errorf("the single-node store moved: %v", err)
	}
	if k := kept(t, dir); len(k) != 0 {
		t.Errorf("renamed: %v", k)
	}
	if _, err := os.Stat(filepath.Join(dir, migrationMarker)); !os.IsNotExist(err) {
		t.Errorf("a marker was written: %v", err)
	}
	if _, err := nodes[1].JS.Stream(ctx, "OBJ_code"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the object store was created despite the refusal: %v", err)
	}
	if e, err := kv.Get(ctx, "a"); err == nil {
		t.Errorf("the cluster's bucket got this node's key: %v", e)
	}
}

// A copy cut short left some of a stream in the cluster and the marker
// naming it: the next start empties that stream and copies it again,
// whole and once.
func TestMigrateRefillsAfterInterruptedCopy(t *testing.T) {
	ctx := testCtx(t)
	nodes := startTestCluster(t, 3)
	dir := t.TempDir()
	singleNodeData(t, dir, "")
	inCluster(t, func(ctx context.Context) error {
		_, err := nodes[1].JS.CreateStream(ctx, jetstream.StreamConfig{Name: "async", Subjects: []string{"async.>"},
			Retention: jetstream.WorkQueuePolicy, Replicas: 3})
		return err
	})
	if _, err := nodes[1].JS.Publish(ctx, "async.svc.fn0", []byte("req-0")); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(filepath.Join(dir, migrationMarker), []string{"async"}); err != nil {
		t.Fatal(err)
	}

	if _, err := migrate(t, nodes[0], dir); err != nil {
		t.Fatal(err)
	}
	st, err := nodes[2].JS.Stream(ctx, "async")
	if err != nil {
		t.Fatal(err)
	}
	si, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.State.Msgs != 3 {
		t.Fatalf("async holds %d messages after the rerun, want the 3 copied once", si.State.Msgs)
	}
	for i := range 3 {
		m, err := st.GetMsg(ctx, si.State.FirstSeq+uint64(i))
		if err != nil || string(m.Data) != fmt.Sprintf("req-%d", i) {
			t.Errorf("message %d: %v, %v", i, m, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, migrationMarker)); !os.IsNotExist(err) {
		t.Errorf("the migration marker is left: %v", err)
	}
}

// A data dir whose node was clustered does not start as a fresh single
// node.
func TestStartRefusesClusterDirWithoutClusterFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ClusterStoreDir, "jetstream"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := Start(testCtx(t), Options{DataDir: dir})
	if err == nil {
		c.Close()
		t.Fatal("a single node started on a clustered node's data dir")
	}
	for _, want := range []string{"belongs to a node of a cluster", "--cluster-listen", "move " + filepath.Join(dir, ClusterStoreDir)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, singleNodeStore)); !os.IsNotExist(err) {
		t.Errorf("a single-node store was created: %v", err)
	}
}

// Without a single-node store there is nothing to do.
func TestMigrateNothing(t *testing.T) {
	nodes := startTestCluster(t, 3)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, migrationMarker), []byte(`{"streams":["x"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := migrate(t, nodes[0], dir)
	if res != nil || err != nil {
		t.Fatalf("migration = %+v, %v; want nothing", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, migrationMarker)); !os.IsNotExist(err) {
		t.Errorf("a stale marker (crash after the rename) is left: %v", err)
	}
}

// Two copies into one stream cannot interleave: the first message of a
// copy expects the stream's last sequence it read, and a write since
// (another node's copy) makes it fail before anything of its is stored.
func TestMigrateCopyLosesRaceCleanly(t *testing.T) {
	ctx := testCtx(t)
	nodes := startTestCluster(t, 3)
	dir := t.TempDir()
	singleNodeData(t, dir, "")
	src, err := openStandalone(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	mg := &migration{Migration: Migration{DataDir: dir, Replicas: 3},
		src: src, dst: nodes[0], marker: filepath.Join(dir, migrationMarker)}
	inCluster(t, func(ctx context.Context) error {
		_, err := nodes[1].JS.CreateStream(ctx, jetstream.StreamConfig{Name: "async", Subjects: []string{"async.>"},
			Retention: jetstream.WorkQueuePolicy, Replicas: 3})
		return err
	})
	// Read as empty (last sequence 0), then written by another node.
	if _, err := nodes[1].JS.Publish(ctx, "async.other.fn", []byte("theirs")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := mg.copyMessages(ctx, "async", 0); !errors.Is(err, errRaced) || !errors.Is(err, ErrClusterHoldsData) || n != 0 {
		t.Fatalf("copy = %d messages, %v; want none and a lost race", n, err)
	}
	st, err := nodes[2].JS.Stream(ctx, "async")
	if err != nil {
		t.Fatal(err)
	}
	if si, err := st.Info(ctx); err != nil || si.State.Msgs != 1 {
		t.Fatalf("async after the lost race: %+v, %v; want only the other node's message", si, err)
	}
	// Expecting the right last sequence, the copy goes through whole.
	if n, _, err := mg.copyMessages(ctx, "async", 1); err != nil || n != 3 {
		t.Fatalf("copy = %d messages, %v; want 3", n, err)
	}
}
