package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// The flags of the instance network.
const (
	FlagInstanceCIDR           = "instance-cidr"
	FlagInstanceAllowHostPorts = "instance-allow-host-ports"
	FlagInstanceNetNSPool      = "instance-netns-pool"
)

// prefixValue is a pflag.Value for a netip.Prefix; only the syntax is
// checked here, the rest by validateNetwork.
type prefixValue struct{ p *netip.Prefix }

func (v prefixValue) String() string {
	if !v.p.IsValid() {
		return ""
	}
	return v.p.String()
}

func (v prefixValue) Set(s string) error {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a CIDR prefix such as %s", s, network.DefaultCIDR)
	}
	*v.p = p
	return nil
}

func (prefixValue) Type() string { return "cidr" }

// portsValue is a pflag.Value for a list of TCP ports and ranges
// ("5432,6379,8000-8100"), kept sorted without duplicates. "none" is the
// empty, non-nil list: no host port at all.
type portsValue struct{ ports *[]uint16 }

func (v portsValue) String() string {
	if *v.ports == nil {
		return ""
	}
	if len(*v.ports) == 0 {
		return "none"
	}
	return formatPorts(*v.ports)
}

func (v portsValue) Set(s string) error {
	ports, err := parsePorts(s)
	if err != nil {
		return err
	}
	*v.ports = ports
	return nil
}

func (portsValue) Type() string { return "ports" }

// parsePorts parses a comma-separated list of ports and inclusive ranges
// ("5432,6379,8000-8100") into sorted, distinct ports; "none" is the empty
// list and "" is nil (no list).
func parsePorts(s string) ([]uint16, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return nil, nil
	case "none":
		return []uint16{}, nil
	}
	var out []uint16
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		last := first
		if isRange {
			if last, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
			if last < first {
				return nil, fmt.Errorf("%q: the range ends before it starts", item)
			}
		}
		for p := int(first); p <= int(last); p++ {
			out = append(out, uint16(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, errors.New("give ports from 1 to 65535, and ranges as 8000-8100")
	}
	return uint16(n), nil
}

// formatPorts writes ports back as parsePorts reads them, runs as ranges.
func formatPorts(ports []uint16) string {
	var b strings.Builder
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(ports[i])))
		if j > i {
			b.WriteString("-" + strconv.Itoa(int(ports[j])))
		}
		i = j + 1
	}
	return b.String()
}

// validateNetwork checks the instance network options.
func (o *Options) validateNetwork() error {
	if err := network.CheckCIDR(o.InstanceCIDR); err != nil {
		return fmt.Errorf("--%s %w", FlagInstanceCIDR, err)
	}
	switch {
	case o.InstanceNetNSPool < 0:
		return fmt.Errorf("--%s %d: give the number of namespaces to keep ready, or 0 for none", FlagInstanceNetNSPool, o.InstanceNetNSPool)
	}
	return nil
}
