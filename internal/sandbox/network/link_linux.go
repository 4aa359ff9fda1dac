package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// peerName is the instance's end of its link, as the instance sees it.
const peerName = "eth0"

// makeLink makes a namespace and its link, addressed and routed.
func (m *Manager) makeLink() (*Link, error) {
	ns, inside, err := newNamespace()
	if err != nil {
		return nil, err
	}
	defer inside.Close()
	l := &Link{NS: ns}
	if err := m.addVeth(l); err != nil {
		ns.Close()
		return nil, err
	}
	if err := m.address(l, inside); err != nil {
		m.Release(l)
		return nil, fmt.Errorf("instance link %s: %w", l.name, err)
	}
	if err := m.rules.setMine(l.name, true); err != nil {
		m.Release(l)
		return nil, err
	}
	l.mine = true
	return l, nil
}

// addVeth creates the veth pair of l on a free slot: the host end named
// after the slot and tagged with this owner's alias, the other end in
// l.NS. A name another openfc holds (EEXIST) moves on to the next slot.
func (m *Manager) addVeth(l *Link) error {
	for range len(m.slots.used) {
		m.mu.Lock()
		slot, ok := m.slots.take()
		m.mu.Unlock()
		if !ok {
			break
		}
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: linkName(slot)},
			PeerName:      peerName,
			PeerNamespace: netlink.NsFd(int(l.NS.Fd())),
		}
		err := m.nl.LinkAdd(veth)
		if err == nil {
			l.slot, l.name = slot, veth.Name
			l.Gateway, l.Addr = m.slots.addrs(slot)
			return nil
		}
		m.mu.Lock()
		m.slots.free(slot)
		m.mu.Unlock()
		if !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create veth %s: %w", veth.Name, err)
		}
	}
	return fmt.Errorf("instance address pool %s is exhausted", m.opts.CIDR)
}

// address puts the gateway on the host end, the instance's address on
// the other, brings both up and routes the namespace's traffic through
// the host. inside is a netlink handle in the namespace.
func (m *Manager) address(l *Link, inside *netlink.Handle) error {
	mask := net.CIDRMask(slotBits, 32)
	host, err := m.nl.LinkByName(l.name)
	if err != nil {
		return err
	}
	l.index = host.Attrs().Index
	// The kernel ignores an alias given at creation.
	if err := m.nl.LinkSetAlias(host, m.alias); err != nil {
		return fmt.Errorf("tag the host end: %w", err)
	}
	if err := m.nl.AddrAdd(host, &netlink.Addr{IPNet: &net.IPNet{IP: l.Gateway.AsSlice(), Mask: mask}}); err != nil {
		return fmt.Errorf("host address: %w", err)
	}
	if err := m.nl.LinkSetUp(host); err != nil {
		return fmt.Errorf("host end up: %w", err)
	}
	peer, err := inside.LinkByName(peerName)
	if err != nil {
		return err
	}
	if err := inside.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: l.Addr.AsSlice(), Mask: mask}}); err != nil {
		return fmt.Errorf("instance address: %w", err)
	}
	if err := inside.LinkSetUp(peer); err != nil {
		return fmt.Errorf("instance end up: %w", err)
	}
	if err := inside.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: l.Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

// fill keeps the pool full until ctx ends. It is the only sender on
// m.ready after New, so checking the length before making a link never
// overfills it. A failure waits for a second (or the next Take) before
// it tries again.
func (m *Manager) fill(ctx context.Context) {
	defer close(m.filled)
	retry := time.NewTimer(0)
	<-retry.C
	for {
		for len(m.ready) < cap(m.ready) && ctx.Err() == nil {
			l, err := m.makeLink()
			if err != nil {
				m.log.Warn("cannot make an instance network ahead of time", "err", err)
				retry.Reset(time.Second)
				break
			}
			m.put(l)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-retry.C:
		}
	}
}

// put adds l to the pool, or releases it when the pool is full.
func (m *Manager) put(l *Link) {
	select {
	case m.ready <- l:
	default:
		m.Release(l)
	}
}

// topUp asks the filler to refill the pool.
func (m *Manager) topUp() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Files returns the resolv.conf and hosts Configure wrote for l ("" before
// Configure), for a container runtime to mount at /etc.
func (l *Link) Files() (resolv, hosts string) { return l.resolv, l.hosts }

// NSPath is a path another process (runc) can open to join l's network
// namespace while l is not released: this process's descriptor of it.
func (l *Link) NSPath() string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), l.NS.Fd())
}
