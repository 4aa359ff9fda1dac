package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// A three-node cluster (issue 19): three `openfc serve` whose embedded
// NATS servers form one cluster on loopback (--cluster-listen, --peers),
// bench/warm deployed once, through node 1. Measured at 32 connections
// in the same interleaved rounds: the single-node server's warm path
// (the yardstick), node 1's front door alone, and the three front doors
// at once (one wrk per node, 32 connections each, requests/s summed, p50
// and p99 the worst door's). Each node runs the function in an instance
// of its own, so the three doors scale with the cores there are for
// three servers, three instances and three load generators.

// clusterNodes is the cluster's size.
const clusterNodes = 3

// The targets' names in res.Warm.
const (
	clusterSingle    = "single-node"
	clusterOneDoor   = "cluster-1-door"
	clusterAllDoors  = "cluster-3-doors"
	clusterConns     = 32
	clusterStartWait = 90 * time.Second
)

// clusterBench starts the cluster in tmp/cluster, measures it against
// single (bench/warm on the single-node server) and stops it.
func clusterBench(ctx context.Context, cfg config, children *procs, openfc, tmp string, single *server, res *results) {
	began := time.Now()
	defer func() { logf("cluster: scenario took %s", time.Since(began).Round(100*time.Millisecond)) }()
	nodes, err := startBenchCluster(ctx, children, openfc, filepath.Join(tmp, "cluster"), cfg.logLevel, res)
	defer func() {
		for _, n := range nodes {
			children.stop(n.pid)
		}
	}()
	if err != nil {
		for _, n := range nodes {
			n.dumpLog()
		}
		res.fail("cluster: %v", err)
		return
	}
	doors := make([]string, len(nodes))
	for i, n := range nodes {
		doors[i] = n.proxyURL("warm")
	}
	measures := []struct {
		name string
		urls []string
	}{
		{clusterSingle, []string{single.proxyURL("warm")}},
		{clusterOneDoor, doors[:1]},
		{clusterAllDoors, doors},
	}
	for _, m := range measures { // warm-up
		if _, _, err := wrkTogether(ctx, m.urls, time.Second); err != nil {
			res.fail("%s warm-up: %v", m.name, err)
		}
	}
	rounds := map[roundKey][]wrkResult{}
	perDoor := make([][]float64, len(doors)) // the three doors' rounds, each door's req/s
	var targets []target
	for _, m := range measures {
		targets = append(targets, target{name: m.name})
	}
	for round := range cfg.rounds {
		for i := range measures {
			m := measures[(i+round)%len(measures)]
			r, doorRPS, err := wrkTogether(ctx, m.urls, cfg.duration)
			if err != nil {
				res.fail("%s round %d: %v", m.name, round+1, err)
				continue
			}
			logf("round %d/%d %-20s c=%dx%d %10.0f req/s  p50 %8.1f µs  p99 %8.1f µs", round+1, cfg.rounds, m.name, clusterConns, len(m.urls), r.RPS, r.P50us, r.P99us)
			k := roundKey{m.name, clusterConns}
			rounds[k] = append(rounds[k], r)
			if m.name == clusterAllDoors {
				for d, rps := range doorRPS {
					perDoor[d] = append(perDoor[d], rps)
				}
			}
		}
	}
	res.Warm = append(res.Warm, warmMedians(targets, rounds)...)
	for d, rps := range perDoor {
		if len(rps) > 0 {
			res.Ratios[fmt.Sprintf("cluster_three_doors_c32_n%d_per_sec", d+1)] = round(median(rps), 0)
		}
	}
	clusterRatios(res)
}

// wrkTogether runs one wrk per URL at once, clusterConns connections
// each, and sums them: requests/s added, p50 and p99 the worst. It
// returns each URL's requests/s too.
func wrkTogether(ctx context.Context, urls []string, d time.Duration) (wrkResult, []float64, error) {
	rs := make([]wrkResult, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { rs[i], errs[i] = runWrk(ctx, u, "", clusterConns, d) })
	}
	wg.Wait()
	sum := wrkResult{Conns: clusterConns}
	each := make([]float64, len(rs))
	for i, r := range rs {
		if errs[i] != nil {
			return wrkResult{}, nil, fmt.Errorf("front door %d: %w", i+1, errs[i])
		}
		sum.RPS += r.RPS
		sum.P50us = max(sum.P50us, r.P50us)
		sum.P99us = max(sum.P99us, r.P99us)
		each[i] = r.RPS
	}
	return sum, each, nil
}

// clusterRatios records the cluster's requests/s against the single
// node's and the three doors' against one.
func clusterRatios(res *results) {
	rps := func(name string) float64 {
		i := slices.IndexFunc(res.Warm, func(r wrkResult) bool { return r.Target == name && r.Conns == clusterConns })
		if i < 0 {
			return 0
		}
		return res.Warm[i].RPS
	}
	single, one, all := rps(clusterSingle), rps(clusterOneDoor), rps(clusterAllDoors)
	if one == 0 || all == 0 {
		res.fail("cluster: no numbers (one door %.0f req/s, three doors %.0f req/s)", one, all)
		return
	}
	res.Ratios["cluster_three_doors_c32_per_sec"] = all
	res.Ratios["cluster_three_doors_c32_rps_vs_one_door"] = round(all/one, 3)
	if single > 0 {
		res.Ratios["cluster_one_door_c32_rps_vs_single_node"] = round(one/single, 3)
		res.Ratios["cluster_three_doors_c32_rps_vs_single_node"] = round(all/single, 3)
	}
}

// startBenchCluster launches clusterNodes servers in dir/n1…, clustered
// on loopback and sharing the run's function code, deploys bench/warm
// through the first and waits until every node serves it. The nodes it
// launched are returned even with an error, for the caller to stop.
func startBenchCluster(ctx context.Context, children *procs, openfc, dir, logLevel string, res *results) ([]*server, error) {
	routes := make([]string, clusterNodes)
	for i := range routes {
		routes[i] = fmt.Sprintf("127.0.0.1:%d", freePort())
	}
	logf("cluster: starting %d clustered openfc nodes", clusterNodes)
	var nodes []*server
	for i := range clusterNodes {
		ndir := filepath.Join(dir, fmt.Sprintf("n%d", i+1))
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			return nodes, err
		}
		if err := os.Symlink(filepath.Join(filepath.Dir(dir), "code"), filepath.Join(ndir, "code")); err != nil {
			return nodes, err
		}
		peers := slices.Delete(slices.Clone(routes), i, i+1)
		n, err := launchServer(children, openfc, ndir, logLevel, "--node-name", fmt.Sprintf("n%d", i+1),
			"--cluster-listen", routes[i], "--peers", strings.Join(peers, ","))
		if err != nil {
			return nodes, err
		}
		nodes = append(nodes, n)
	}
	if err := waitClusterListening(nodes); err != nil {
		return nodes, err
	}
	if _, err := deploy(ctx, nodes[0], 0, res); err != nil {
		return nodes, err
	}
	for i, n := range nodes {
		if err := waitHTTP(ctx, n.proxyURL("warm"), "", 60*time.Second); err != nil {
			return nodes, fmt.Errorf("node %d never served bench/warm: %w", i+1, err)
		}
	}
	return nodes, nil
}

// waitClusterListening waits until every node accepts connections; a
// node that exits first fails the scenario at once (its log is shown by
// the caller), not after clusterStartWait.
func waitClusterListening(nodes []*server) error {
	deadline := time.Now().Add(clusterStartWait)
	for i := 0; i < len(nodes); {
		if err := waitTCP(nodes[i].addr, 200*time.Millisecond); err == nil {
			i++
			continue
		}
		if exited(nodes[i].pid) {
			return fmt.Errorf("node %d exited while the cluster formed", i+1)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not listening after %s", i+1, clusterStartWait)
		}
	}
	return nil
}

// exited reports whether the child pid has exited (a zombie until
// procs reaps it).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}
