// Package network gives each instance a network of its own: a network
// namespace joined to the host by a veth pair, an address from a private
// pool, a default route through the host, NAT to the outside and rules
// that keep instances away from one another and from openfc's own ports.
//
// It is mechanism only: the sandbox decides when an instance gets a link
// and what its policy is; this package makes the kernel do it, through
// netlink and nftables, and removes what a killed run left behind.
package network

import (
	"log/slog"
	"net/netip"
)

// DefaultCIDR is the default instance address pool: link-local, clear of
// the cloud metadata address 169.254.169.254.
var DefaultCIDR = netip.MustParsePrefix("169.254.64.0/18")

// Options configure a Manager.
type Options struct {
	// CIDR is the IPv4 pool instance links are addressed from, one /30
	// per instance. Zero: DefaultCIDR.
	CIDR netip.Prefix
	// Owner identifies this openfc (its data directory) on the host: it
	// names the nftables table and tags the links, so that cleanup after
	// a crash removes only what this openfc made.
	Owner string
	// DenyHostPorts are TCP/UDP ports on the host instances may not reach:
	// openfc's own listeners and the NATS ports.
	DenyHostPorts []uint16
	// AllowHostPorts, when not nil, are the only host ports instances may
	// reach (DenyHostPorts no longer matter).
	AllowHostPorts []uint16
	// PoolSize is how many namespaces are kept ready ahead of cold
	// starts. Zero: DefaultPoolSize; negative: none.
	PoolSize int
	// StateDir holds per-instance files (resolv.conf, hosts); it is
	// emptied at start.
	StateDir string
	// Logger; nil discards.
	Logger *slog.Logger
}

// DefaultPoolSize is the number of namespaces kept ready by default.
const DefaultPoolSize = 2
