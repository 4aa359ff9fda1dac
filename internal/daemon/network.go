package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/network"
)

// newSandbox builds the process sandbox with the instance network the
// options describe, and the container sandbox beside it. The listeners must be open: instances are kept away
// from their ports.
func (d *Daemon) newSandbox() error {
	netOpts, err := d.networkOptions()
	if err != nil {
		return err
	}
	d.sb, err = sandbox.NewProcess(sandbox.ProcessOptions{NetNS: d.opts.NetNS, Network: netOpts, Logger: d.log.With("component", "sandbox")})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return d.newContainers(netOpts.Owner)
}

// networkOptions turns the server options into the instance network's.
func (d *Daemon) networkOptions() (network.Options, error) {
	o := d.opts
	owner, err := netOwner(o.DataDir)
	if err != nil {
		return network.Options{}, err
	}
	addrs := []string{d.ln.Addr().String()}
	for _, ln := range []net.Listener{d.adminLn, d.tlsLn} {
		if ln != nil {
			addrs = append(addrs, ln.Addr().String())
		}
	}
	if d.nats != nil {
		addrs = append(addrs, d.nats.ClientURL())
	}
	if o.Cluster.Listen != "" {
		addrs = append(addrs, o.Cluster.Listen) // the NATS routes
	}
	return network.Options{
		CIDR:           o.InstanceCIDR,
		Owner:          owner,
		DenyHostPorts:  listenPorts(addrs...),
		AllowHostPorts: o.InstanceAllowHostPorts,
		PoolSize:       poolSize(o),
		StateDir:       filepath.Join(o.DataDir, "run", "net"),
		Logger:         d.log.With("component", "network"),
	}, nil
}

// poolSize maps --instance-netns-pool to network.Options.PoolSize, where 0
// means the default and a negative size none.
func poolSize(o *config.Options) int {
	if o.InstanceNetNSPool == 0 {
		return -1
	}
	return o.InstanceNetNSPool
}

// netOwner is the short, stable id of this openfc on the host: the first
// 8 hex digits of the SHA-256 of the data directory's absolute path. One
// data directory has one server (its lock), so the id tells apart the
// servers of one host, and a restart finds, by the same id, what a killed
// run left behind (links, rules) to remove it.
func netOwner(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:4]), nil
}

// listenPorts returns the TCP ports of listener addresses ("host:port" or
// a URL such as nats://host:port), sorted and distinct; empty addresses
// and ones without a port are skipped.
func listenPorts(addrs ...string) []uint16 {
	var out []uint16
	for _, a := range addrs {
		if u, err := url.Parse(a); err == nil && u.Scheme != "" && u.Host != "" {
			a = u.Host
		}
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseUint(p, 10, 16); err == nil && n > 0 {
			out = append(out, uint16(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
