package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// linkPrefix starts the name of every host end of an instance link made
// by any openfc on the host; the rules match links by it. The rest of the
// name is the slot, so the kernel's unique interface names arbitrate
// between openfc servers that share a host and an address pool.
const linkPrefix = "ofc"

// metadataAddr is the cloud metadata service, which the pool must not
// cover: an instance would shadow it for the host.
var metadataAddr = netip.MustParseAddr("169.254.169.254")

// slotBits: each instance link takes a /30: network, gateway (the host
// end), the instance, broadcast.
const slotBits = 30

// CheckCIDR reports why p cannot be an instance address pool: it must be
// an IPv4 prefix without host bits, hold at least 4 links (a /28 or
// larger) and leave the metadata address out.
func CheckCIDR(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return errors.New("is required: an IPv4 prefix")
	case !p.Addr().Is4():
		return fmt.Errorf("%s: give an IPv4 prefix; instance links are IPv4", p)
	case p != p.Masked():
		return fmt.Errorf("%s has bits set after the prefix; did you mean %s?", p, p.Masked())
	case p.Bits() > 28:
		return fmt.Errorf("%s is too small: each instance takes a /%d, so give a /28 or shorter (room for at least 4 instances)", p, slotBits)
	case p.Contains(metadataAddr):
		return fmt.Errorf("%s contains the cloud metadata address %s; choose a range without it (the default is %s)", p, metadataAddr, DefaultCIDR)
	}
	return nil
}

// slots hands out the /30s of an address pool. Freed slots are reused
// last (a cursor goes round), so that a new instance rarely gets the
// address of one that just stopped, whose connections the host may still
// track. Not safe for concurrent use.
type slots struct {
	base netip.Addr // the pool's first address
	used []bool
	next int
}

func newSlots(p netip.Prefix) *slots {
	return &slots{base: p.Masked().Addr(), used: make([]bool, 1<<(slotBits-p.Bits()))}
}

// take returns a free slot, or false when all are used.
func (s *slots) take() (int, bool) {
	for i := range s.used {
		n := (s.next + i) % len(s.used)
		if !s.used[n] {
			s.used[n] = true
			s.next = n + 1
			return n, true
		}
	}
	return 0, false
}

// free gives slot n back.
func (s *slots) free(n int) { s.used[n] = false }

// addrs returns the gateway (host end) and instance addresses of slot n.
func (s *slots) addrs(n int) (gateway, instance netip.Addr) {
	b := s.base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n) << (32 - slotBits)
	gw := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v + 1)}
	in := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v + 2)}
	return netip.AddrFrom4(gw), netip.AddrFrom4(in)
}

// linkName is the host end's name for slot n.
func linkName(n int) string { return linkPrefix + strconv.Itoa(n) }
