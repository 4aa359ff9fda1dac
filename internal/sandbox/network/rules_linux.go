package network

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// rules is this openfc's nftables table (family inet):
//
//	input:       from instance links: replies accepted; then the host
//	             ports no instance may reach (this openfc's listeners)
//	             refused; with an allow list, this openfc's own links
//	             (the set "mine") reach only the ports on it
//	forward:     instance to instance refused; an offline instance
//	             (internetAccess: false) forwards nothing; towards
//	             instances only replies
//	postrouting: instance traffic leaving the host masqueraded
//
// Refusals are immediate, never silent drops that make callers wait: a
// TCP reset for TCP ("connection refused"), ICMP "administratively
// prohibited" for the rest ("no route to host"). TCP is not left to ICMP
// because the kernel sends at most one ICMP error per destination per
// second (net.ipv4.icmp_ratelimit): a second connect within the second
// would wait for its SYN to be retransmitted.
// Links are matched by the name prefix every openfc uses, so the denied
// ports of one openfc are also safe from the instances of another on the
// host; an allow list, though, is one openfc's policy for its own
// instances and must not confine another's, so it matches the names in
// "mine".
type rules struct {
	mu      sync.Mutex // serialises batches on conn
	conn    *nftables.Conn
	table   *nftables.Table
	offline *nftables.Set
	mine    *nftables.Set // nil without an allow list
	closed  bool          // the table is gone
}

// tableName is the nftables table of the openfc whose owner id is owner.
func tableName(owner string) string { return "openfc_" + owner }

// installRules replaces this openfc's table (one a killed run left is
// deleted first) with a fresh one for pool, in one transaction.
func installRules(pool netip.Prefix, owner string, deny, allow []uint16) (_ *rules, err error) {
	// Lasting: its socket is made now, in the host's namespace, and
	// stays there whichever thread uses it later (an instance's owner
	// thread sits in the instance's namespace when it releases the link).
	conn, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	defer func() {
		if err != nil {
			conn.CloseLasting()
		}
	}()
	r := &rules{conn: conn}
	if err := r.deleteTable(owner); err != nil {
		return nil, err
	}
	r.table = conn.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: tableName(owner)})
	r.offline = &nftables.Set{Table: r.table, Name: "offline", KeyType: nftables.TypeIPAddr}
	if err := conn.AddSet(r.offline, nil); err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	denied := &nftables.Set{Table: r.table, Name: "denied_ports", KeyType: nftables.TypeInetService}
	if err := conn.AddSet(denied, portElements(without(deny, allow))); err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	var allowed *nftables.Set
	if allow != nil {
		allowed = &nftables.Set{Table: r.table, Name: "allowed_ports", KeyType: nftables.TypeInetService}
		r.mine = &nftables.Set{Table: r.table, Name: "mine", KeyType: nftables.TypeIFName}
		if err := conn.AddSet(allowed, portElements(allow)); err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
		if err := conn.AddSet(r.mine, nil); err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
	}
	r.inputChain(denied, allowed)
	r.forwardChain()
	r.natChain(pool)
	if err := conn.Flush(); err != nil {
		return nil, fmt.Errorf("nftables: install table %s: %w", tableName(owner), err)
	}
	return r, nil
}

// deleteTable removes owner's table if it exists.
func (r *rules) deleteTable(owner string) error {
	tables, err := r.conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == tableName(owner) {
			r.conn.DelTable(t)
			if err := r.conn.Flush(); err != nil {
				return fmt.Errorf("nftables: delete table %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// close deletes the table.
func (r *rules) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	defer r.conn.CloseLasting()
	r.conn.DelTable(r.table)
	if err := r.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table %s: %w", r.table.Name, err)
	}
	return nil
}

// setOffline adds addr to, or removes it from, the offline set.
func (r *rules) setOffline(addr netip.Addr, offline bool) error {
	return r.setMember(r.offline, addr.AsSlice(), offline)
}

// setMine adds the link named name to, or removes it from, the set of
// this openfc's links (kept only with an allow list).
func (r *rules) setMine(name string, mine bool) error {
	if r.mine == nil {
		return nil
	}
	key := make([]byte, unix.IFNAMSIZ)
	copy(key, name)
	return r.setMember(r.mine, key, mine)
}

func (r *rules) setMember(set *nftables.Set, key []byte, in bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil // the whole table went
	}
	el := []nftables.SetElement{{Key: key}}
	var err error
	if in {
		err = r.conn.SetAddElements(set, el)
	} else {
		err = r.conn.SetDeleteElements(set, el)
	}
	if err == nil {
		err = r.conn.Flush()
	}
	if err != nil {
		return fmt.Errorf("nftables: %s set: %w", set.Name, err)
	}
	return nil
}

// inputChain refuses denied ports to every instance link and, given an
// allowed set, everything else to this openfc's links.
func (r *rules) inputChain(denied, allowed *nftables.Set) {
	c := r.conn.AddChain(&nftables.Chain{Name: "input", Table: r.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	r.add(c, ifname(expr.MetaKeyIIFNAME), replies(), accept())
	r.add(c, ifname(expr.MetaKeyIIFNAME), l4proto(unix.IPPROTO_TCP), dportIn(denied), tcpReset())
	r.add(c, ifname(expr.MetaKeyIIFNAME), l4proto(unix.IPPROTO_UDP), dportIn(denied), reject())
	if allowed == nil {
		return
	}
	for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
		r.add(c, ifnameIn(expr.MetaKeyIIFNAME, r.mine), l4proto(proto), dportIn(allowed), accept())
	}
	r.add(c, ifnameIn(expr.MetaKeyIIFNAME, r.mine), l4proto(unix.IPPROTO_ICMP), accept())
	r.refuse(c, ifnameIn(expr.MetaKeyIIFNAME, r.mine))
}

func (r *rules) forwardChain() {
	c := r.conn.AddChain(&nftables.Chain{Name: "forward", Table: r.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
	r.refuse(c, ifname(expr.MetaKeyIIFNAME), ifname(expr.MetaKeyOIFNAME))
	r.refuse(c, ifname(expr.MetaKeyIIFNAME), ipv4(), saddrIn(r.offline))
	r.add(c, ifname(expr.MetaKeyOIFNAME), replies(), accept())
	r.refuse(c, ifname(expr.MetaKeyOIFNAME))
}

func (r *rules) natChain(pool netip.Prefix) {
	c := r.conn.AddChain(&nftables.Chain{Name: "postrouting", Table: r.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	r.add(c, ipv4(), saddrInPrefix(pool), notIfname(expr.MetaKeyOIFNAME), []expr.Any{&expr.Masq{}})
}

func (r *rules) add(c *nftables.Chain, parts ...[]expr.Any) {
	var exprs []expr.Any
	for _, p := range parts {
		exprs = append(exprs, p...)
	}
	r.conn.AddRule(&nftables.Rule{Table: r.table, Chain: c, Exprs: exprs})
}

// ifname matches an instance link: the interface name starts with
// linkPrefix (a compare of the prefix's length is a prefix match).
func ifname(key expr.MetaKey) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(linkPrefix)},
	}
}

// ifnameIn matches an interface whose name is in set.
func ifnameIn(key expr.MetaKey, set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

func notIfname(key expr.MetaKey) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte(linkPrefix)},
	}
}

// replies matches ct state established,related.
func replies() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func l4proto(p byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

func ipv4() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
}

// dportIn matches a TCP or UDP destination port in set (after l4proto).
func dportIn(set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

// saddrIn matches an IPv4 source address in set (after ipv4).
func saddrIn(set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

// saddrInPrefix matches an IPv4 source address in p (after ipv4).
func saddrInPrefix(p netip.Prefix) []expr.Any {
	mask := netipMask(p.Bits())
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func netipMask(bits int) []byte {
	m := make([]byte, 4)
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

func accept() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}} }

// refuse adds the rules refusing what parts match: TCP with a reset,
// the rest with ICMP (see rules).
func (r *rules) refuse(c *nftables.Chain, parts ...[]expr.Any) {
	r.add(c, slices.Concat(parts, [][]expr.Any{l4proto(unix.IPPROTO_TCP), tcpReset()})...)
	r.add(c, slices.Concat(parts, [][]expr.Any{reject()})...)
}

func tcpReset() []expr.Any {
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}
}

func reject() []expr.Any {
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}
}

// without returns the ports of list not in drop.
func without(list, drop []uint16) []uint16 {
	var out []uint16
	for _, p := range list {
		if !slices.Contains(drop, p) {
			out = append(out, p)
		}
	}
	return out
}

func portElements(ports []uint16) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(ports))
	seen := map[uint16]bool{}
	for _, p := range ports {
		if !seen[p] {
			seen[p] = true
			out = append(out, nftables.SetElement{Key: binaryutil.BigEndian.PutUint16(p)})
		}
	}
	return out
}
