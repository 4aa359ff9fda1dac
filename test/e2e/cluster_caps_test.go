package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

// The instance caps hold cluster-wide (issue 19): a function whose cap is
// 2 never runs more than 2 instances over three nodes under load through
// all three front doors, and the node without an instance answers by
// forwarding to one that has. A provisioned target of 3 runs one instance
// per node and, once a node is killed, 2/1 on the other two.
func TestClusterInstanceCaps(t *testing.T) {
	nodes := startCluster(t, 3)
	nodes[0].lcDeploy(lcFunc{svc: "caps", fn: "fn"})
	nodes[0].lcMustCLI(t, "scaling", "set", "caps/fn", "--max", "2")
	// Every node knows the function and its cap before the load.
	for i, n := range nodes {
		waitFor(t, 10*time.Second, func() error {
			out, err := n.lcCLI("scaling", "get", "caps/fn")
			if err != nil || !strings.Contains(out, "on-demand max instances: 2") {
				return fmt.Errorf("node %d: openfc scaling get caps/fn: %v\n%s", i+1, err, out)
			}
			return nil
		})
	}

	sm := sampleCluster(nodes, "caps/fn")
	results := clusterLoad(nodes, "caps", "fn", "/sleep?ms=200", 3, 8*time.Second)
	sm.finish()

	for i, rs := range results {
		failed := 0
		var took []time.Duration
		for _, r := range rs {
			took = append(took, r.took)
			if r.err != nil || r.status != 200 {
				if failed++; failed <= 3 {
					t.Errorf("node %d: status %d err %v body %s; want 200", i+1, r.status, r.err, r.body)
				}
			}
		}
		slices.Sort(took)
		t.Logf("node %d: %d requests, %d failed, median %v; most instances listed at once: %d", i+1, len(rs), failed,
			took[len(took)/2].Round(time.Millisecond), sm.maxPer[i])
	}
	if sm.samples == 0 {
		t.Fatalf("openfc instances was never sampled on all three nodes: %v", sm.errs)
	}
	t.Logf("%d samples; largest sum %d: %v", sm.samples, sm.maxSum, sm.maxLists)
	if sm.maxSum > 2 {
		t.Errorf("the three nodes listed %d instances at once: %v; the cap is 2", sm.maxSum, sm.maxLists)
	}
	// Some node never had an instance (the cap is 2 for 3 nodes): its
	// requests were forwarded, and its access log says so.
	idle := slices.Index(sm.maxPer[:], 0)
	if idle < 0 {
		t.Logf("every node ran an instance at some point (%v): the instances moved during the load", sm.maxPer)
	}
	forwarded := 0
	for i, n := range nodes {
		c := strings.Count(n.log.String(), "forwarded_to=n")
		forwarded += c
		if i == idle && c == 0 {
			t.Errorf("node %d never ran an instance and forwarded no request; its %d requests were answered how?", i+1, len(results[i]))
		}
	}
	if forwarded == 0 {
		t.Errorf("no node forwarded a request (no forwarded_to= in any access log)")
	}

	// Provisioned instances spread 1/1/1, and 2/1 once a node is gone.
	nodes[0].lcDeploy(lcFunc{svc: "prov", fn: "fn"})
	nodes[0].lcMustCLI(t, "scaling", "set", "prov/fn", "--provision", "3")
	waitFor(t, 30*time.Second, func() error {
		counts, err := provisionedCounts(nodes, "prov/fn")
		if err != nil {
			return err
		}
		if !slices.Equal(counts, []int{1, 1, 1}) {
			return fmt.Errorf("provisioned Ready instances per node %v; want [1 1 1]", counts)
		}
		return nil
	})
	nodes[2].kill9()
	killed := time.Now()
	// The bound: the node is taken for dead after fc.NodeTTL (6 s), the
	// next provisioning pass (1 s) starts the instance, which is ready
	// within a second or two; when the dead node led the slots bucket,
	// its reserve waits for JetStream to elect another leader (seen:
	// 5.6 s to 19 s on a busy 2-core machine).
	const bound = 30 * time.Second
	var counts []int
	waitFor(t, bound, func() error {
		var err error
		if counts, err = provisionedCounts(nodes[:2], "prov/fn"); err != nil {
			return err
		}
		sorted := slices.Sorted(slices.Values(counts))
		if !slices.Equal(sorted, []int{1, 2}) {
			return fmt.Errorf("provisioned Ready instances on n1, n2: %v; want 2 and 1", counts)
		}
		return nil
	})
	t.Logf("after n3 was killed, n1 and n2 ran %v provisioned instances within %v", counts, time.Since(killed).Round(100*time.Millisecond))

	// n3 back (which also lets it clean up after its kill): 1/1/1 again,
	// the node with two keeping one as an on-demand instance.
	nodes[2] = nodes[2].restart()
	waitAllServing(t, nodes[2])
	waitFor(t, bound, func() error {
		var err error
		if counts, err = provisionedCounts(nodes, "prov/fn"); err != nil {
			return err
		}
		if !slices.Equal(counts, []int{1, 1, 1}) {
			return fmt.Errorf("provisioned Ready instances per node %v after n3 came back; want [1 1 1]", counts)
		}
		return nil
	})
}

// clusterLoad sends GET path to svc/fn through every node's front door
// from perNode clients each, one request after another, for d, and
// returns each node's outcomes.
func clusterLoad(nodes []*server, svc, fn, path string, perNode int, d time.Duration) [][]lcResult {
	results := make([][]lcResult, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for i, n := range nodes {
		for range perNode {
			wg.Go(func() {
				for time.Now().Before(end) {
					r := n.lcCall(svc, fn, path, nil, 30*time.Second)
					mu.Lock()
					results[i] = append(results[i], r)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return results
}

// clusterSampler lists a function's instances on every node at once,
// over and over, and keeps the largest sum seen and each node's largest
// count.
type clusterSampler struct {
	mu       sync.Mutex
	samples  int
	maxSum   int
	maxLists [][]string
	maxPer   [3]int
	errs     []error
	stop     chan struct{}
	done     chan struct{}
}

func sampleCluster(nodes []*server, ref string) *clusterSampler {
	sm := &clusterSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		for {
			lists := make([][]client.Instance, len(nodes))
			errs := make([]error, len(nodes))
			var wg sync.WaitGroup
			for i, n := range nodes {
				wg.Go(func() { lists[i], errs[i] = n.lcInstances(ref) })
			}
			wg.Wait()
			sm.record(lists, errs)
			select {
			case <-sm.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return sm
}

func (sm *clusterSampler) record(lists [][]client.Instance, errs []error) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, err := range errs {
		if err != nil {
			sm.errs = append(sm.errs, err)
			return
		}
	}
	sm.samples++
	sum := 0
	var ids [][]string
	for i, l := range lists {
		sum += len(l)
		sm.maxPer[i] = max(sm.maxPer[i], len(l))
		ids = append(ids, lcIDs(l))
	}
	if sum > sm.maxSum {
		sm.maxSum, sm.maxLists = sum, ids
	}
}

func (sm *clusterSampler) finish() {
	close(sm.stop)
	<-sm.done
}

// provisionedCounts is how many Ready provisioned instances of ref each
// node lists.
func provisionedCounts(nodes []*server, ref string) ([]int, error) {
	counts := make([]int, len(nodes))
	for i, n := range nodes {
		list, err := n.lcInstances(ref)
		if err != nil {
			return nil, err
		}
		for _, in := range list {
			if in.State == "Ready" && in.Provisioned {
				counts[i]++
			}
		}
	}
	return counts, nil
}
