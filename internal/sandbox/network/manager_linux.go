package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager makes and removes instance links. Its one goroutine keeps
// Options.PoolSize namespaces ready, so a cold start takes a finished one
// instead of waiting for the kernel.
type Manager struct {
	opts  Options
	log   *slog.Logger
	alias string // tags this openfc's links, for cleanup after a crash
	host  *os.File
	nl    *netlink.Handle // in the host namespace
	rules *rules
	files hostFiles

	mu    sync.Mutex
	slots *slots

	ready  chan *Link    // made ahead, at most PoolSize
	wake   chan struct{} // asks the filler to top the pool up
	cancel context.CancelFunc
	filled chan struct{} // closed when the filler has returned

	// dead are released links whose host ends the reaper deletes: it
	// takes the kernel tens of milliseconds, which a stopping instance
	// should not wait for. A slot is free again once its link is gone.
	deadMu sync.Mutex
	dead   []*Link
	closed bool // Close has begun: Release deletes at once
	once   sync.Once
	reap   chan struct{} // wakes the reaper
	reaped chan struct{} // closed when the reaper has returned
}

// Link is one instance's network: a namespace joined to the host by a
// veth pair, its address and its gateway (the host end).
type Link struct {
	// NS is the namespace; processes started in it have the link.
	NS *os.File
	// Addr is the instance's address; Gateway the host's, on its link.
	Addr, Gateway netip.Addr
	name          string // the host end
	index         int    // the host end's ifindex
	slot          int
	offline       bool
	mine          bool   // in the rules' set of this openfc's links
	dir           string // per-instance files, once written
	resolv, hosts string // in dir
}

// New cleans up what a killed run of the same owner left (its links, its
// table), installs the rules, makes a first link to prove it all works,
// and starts the pool. It fails when the host cannot give instances
// networks (no root, no veth, no nftables): the caller falls back.
func New(o Options) (*Manager, error) {
	if !o.CIDR.IsValid() {
		o.CIDR = DefaultCIDR
	}
	if err := CheckCIDR(o.CIDR); err != nil {
		return nil, fmt.Errorf("instance CIDR %w", err)
	}
	if o.Owner == "" {
		return nil, errors.New("instance networks need an owner id (the data directory's)")
	}
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	o.PoolSize = max(o.PoolSize, 0)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: o, log: log, alias: "openfc:" + o.Owner, slots: newSlots(o.CIDR),
		ready: make(chan *Link, o.PoolSize), wake: make(chan struct{}, 1), filled: make(chan struct{}),
		reap: make(chan struct{}, 1), reaped: make(chan struct{})}
	if err := m.setUp(); err != nil {
		m.tearDown()
		return nil, err
	}
	first, err := m.makeLink()
	if err != nil {
		m.tearDown()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.reapLinks()
	m.put(first)
	go m.fill(ctx)
	return m, nil
}

// setUp opens the host handles, removes leftovers and installs the rules.
func (m *Manager) setUp() error {
	var err error
	if m.host, err = openHostNetNS(); err != nil {
		return err
	}
	if m.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	m.removeLeftovers()
	if m.opts.StateDir != "" {
		if err := os.RemoveAll(m.opts.StateDir); err != nil {
			return fmt.Errorf("instance network state: %w", err)
		}
	}
	if err := enableForwarding(m.log); err != nil {
		return err
	}
	m.files = readHostFiles(m.log.Warn)
	m.rules, err = installRules(m.opts.CIDR, m.opts.Owner, m.opts.DenyHostPorts, m.opts.AllowHostPorts)
	return err
}

// removeLeftovers deletes the host ends of links this owner made in a
// run that was killed (deleting one end removes its pair). Only links
// named with linkPrefix and tagged with this owner's alias are touched.
func (m *Manager) removeLeftovers() {
	links, err := listLinks(m.nl)
	if err != nil {
		m.log.Warn("cannot list links to remove what a previous run left", "err", err)
		return
	}
	n := 0
	for _, l := range links {
		a := l.Attrs()
		if strings.HasPrefix(a.Name, linkPrefix) && a.Alias == m.alias {
			if err := m.nl.LinkDel(l); err != nil {
				m.log.Warn("cannot remove a link a previous run left", "link", a.Name, "err", err)
				continue
			}
			n++
		}
	}
	if n > 0 {
		m.log.Info("removed instance links a previous run left", "count", n)
	}
}

// listLinks lists the links of h's namespace, dumping again while the
// kernel reports that links changed during the dump.
func listLinks(h *netlink.Handle) ([]netlink.Link, error) {
	for range 10 {
		links, err := h.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return links, err
		}
	}
	return nil, fmt.Errorf("list links: %w", netlink.ErrDumpInterrupted)
}

// enableForwarding turns on IPv4 forwarding, without which instances
// reach only the host. It is the host-wide switch every container
// runtime needs; openfc says so when it flips it.
func enableForwarding(log *slog.Logger) error {
	const path = "/proc/sys/net/ipv4/ip_forward"
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(path, []byte("1"), 0); err != nil {
		return fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	log.Info("enabled IPv4 forwarding on the host (net.ipv4.ip_forward=1) so that instances reach the outside")
	return nil
}

// tearDown releases what setUp and New made; safe on a partial setUp.
func (m *Manager) tearDown() {
	if m.rules != nil {
		if err := m.rules.close(); err != nil {
			m.log.Warn("cannot remove the instance network rules", "err", err)
		}
	}
	if m.nl != nil {
		m.nl.Close()
	}
	if m.host != nil {
		m.host.Close()
	}
}

// Close stops the pool, removes the links made ahead and the rules, and
// returns once every released link is gone. Call it after every taken
// link has been released.
func (m *Manager) Close() error {
	m.once.Do(func() {
		m.cancel()
		<-m.filled
		for {
			select {
			case l := <-m.ready:
				m.Release(l)
				continue
			default:
			}
			break
		}
		m.deadMu.Lock()
		m.closed = true
		close(m.reap)
		m.deadMu.Unlock()
		<-m.reaped
		m.tearDown()
	})
	return nil
}

// Owner returns Options.Owner, which names the nftables table.
func (m *Manager) Owner() string { return m.opts.Owner }

// Host returns a handle to the host's network namespace.
func (m *Manager) Host() *os.File { return m.host }

// Take returns a ready link: one made ahead, else a new one.
func (m *Manager) Take(ctx context.Context) (*Link, error) {
	select {
	case l := <-m.ready:
		m.topUp()
		return l, nil
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.topUp()
	return m.makeLink()
}

// Configure applies an instance's policy and writes its resolv.conf and
// hosts into a directory of their own, which Enter mounts.
func (m *Manager) Configure(l *Link, id string, offline bool, dns DNS) error {
	if offline {
		if err := m.rules.setOffline(l.Addr, true); err != nil {
			return err
		}
		l.offline = true
	}
	l.dir = filepath.Join(m.opts.StateDir, id)
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("instance network files: %w", err)
	}
	l.resolv, l.hosts = filepath.Join(l.dir, "resolv.conf"), filepath.Join(l.dir, "hosts")
	if err := os.WriteFile(l.resolv, m.files.resolvConf(dns), 0o644); err != nil {
		return fmt.Errorf("instance network files: %w", err)
	}
	if err := os.WriteFile(l.hosts, m.files.hostsFile(l.Gateway), 0o644); err != nil {
		return fmt.Errorf("instance network files: %w", err)
	}
	return nil
}

// Release removes a link: its policy, its files and its namespace handle
// now; its host end (and so its pair) soon after, in the background, and
// then its address is free. The namespace itself goes when the last
// process in it has exited.
func (m *Manager) Release(l *Link) {
	if l.offline {
		if err := m.rules.setOffline(l.Addr, false); err != nil {
			m.log.Warn("cannot lift an instance's offline rule", "addr", l.Addr, "err", err)
		}
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
	l.NS.Close()
	m.deadMu.Lock()
	defer m.deadMu.Unlock()
	if m.closed {
		// The reaper and the host handle are gone; this thread is
		// unlocked, so in the host namespace.
		m.deleteLink(l, netlink.LinkDel)
		return
	}
	m.dead = append(m.dead, l)
	select {
	case m.reap <- struct{}{}:
	default:
	}
}

// reapLinks deletes the host ends of released links and frees their
// slots, until Close closes m.reap; then it deletes what is left.
func (m *Manager) reapLinks() {
	defer close(m.reaped)
	for {
		_, open := <-m.reap
		m.deadMu.Lock()
		dead := m.dead
		m.dead = nil
		m.deadMu.Unlock()
		for _, l := range dead {
			m.deleteLink(l, m.nl.LinkDel)
		}
		if !open {
			return
		}
	}
}

// deleteLink deletes l's host end with del and frees its slot.
func (m *Manager) deleteLink(l *Link, del func(netlink.Link) error) {
	// Out of "mine" first: once deleted, the name may be another
	// openfc's, whose instances this openfc's allow list must not bind.
	if l.mine {
		if err := m.rules.setMine(l.name, false); err != nil {
			m.log.Warn("cannot forget an instance link", "link", l.name, "err", err)
		}
	}
	// By index: the kernel may have deleted the pair already, when the
	// namespace went with its last process (ENODEV then), and the name
	// may be another openfc's by now.
	err := del(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.name, Index: l.index}})
	var notFound netlink.LinkNotFoundError
	if err != nil && !errors.Is(err, unix.ENODEV) && !errors.As(err, &notFound) {
		m.log.Warn("cannot remove an instance link", "link", l.name, "err", err)
	}
	m.mu.Lock()
	m.slots.free(l.slot)
	m.mu.Unlock()
}

// Dial connects to port on the instance behind l.
func (l *Link) Dial(ctx context.Context, port int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp4", netip.AddrPortFrom(l.Addr, uint16(port)).String())
}
