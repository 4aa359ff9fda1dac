package store

import (
	"crypto/tls"
	"log/slog"
	"strings"
	"sync"

	"github.com/openfc/openfc/internal/fc"
)

// domainCatalog is the in-memory copy of the custom domains bucket, fed
// by its watch and by this store's own writes; revisions arbitrate as in
// catalog (a nil domain is a tombstone).
type domainCatalog struct {
	mu   sync.RWMutex
	seen uint64
	tab  map[string]domainItem
}

type domainItem struct {
	rev uint64
	d   *fc.ServedDomain // nil: deleted
}

func newDomainCatalog() *domainCatalog { return &domainCatalog{tab: map[string]domainItem{}} }

// serve prepares a stored domain for the front door; a domain that no
// longer compiles (stored by another version of openfc) is logged and
// left out rather than served half.
func serve(d *fc.CustomDomain, log *slog.Logger) *fc.ServedDomain {
	if d == nil {
		return nil
	}
	routes, err := fc.CompileRoutes(d)
	if err != nil {
		log.Warn("custom domains: not serving a domain whose routes do not compile", "domain", d.DomainName, "err", err)
		return nil
	}
	sd := &fc.ServedDomain{Domain: d, Routes: routes}
	if c := d.CertConfig; c != nil && c.Certificate != "" {
		cert, err := tls.X509KeyPair([]byte(c.Certificate), []byte(c.PrivateKey))
		if err != nil {
			log.Warn("custom domains: the certificate does not load; the default one will be served", "domain", d.DomainName, "err", err)
		} else {
			sd.Cert = &cert
		}
	}
	return sd
}

// watched applies a change the watcher delivered (d nil: deleted).
func (c *domainCatalog) watched(name string, rev uint64, d *fc.CustomDomain, log *slog.Logger) {
	sd := serve(d, log)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = max(c.seen, rev)
	if cur, ok := c.tab[name]; ok && (cur.rev > rev || cur.rev == rev && cur.d != nil) {
		return
	}
	if sd == nil {
		delete(c.tab, name)
		return
	}
	c.tab[name] = domainItem{rev: rev, d: sd}
}

// put applies this store's own write at once (d nil: a delete whose
// marker's revision is after rev-1), unless the watcher is already past.
func (c *domainCatalog) put(name string, rev uint64, d *fc.CustomDomain, log *slog.Logger) {
	sd := serve(d, log)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d != nil && c.seen >= rev {
		return
	}
	if cur, ok := c.tab[name]; ok && cur.rev >= rev {
		return
	}
	c.tab[name] = domainItem{rev: rev, d: sd} // a tombstone when sd is nil
}

// LookupDomain finds the custom domain serving host (lower-case, no
// port): the domain of that exact name, else the wildcard domain
// "*.parent" of its parent (one label only, as TLS wildcards).
func (s *JetStream) LookupDomain(host string) (*fc.ServedDomain, bool) {
	c := s.dcat
	c.mu.RLock()
	defer c.mu.RUnlock()
	if it, ok := c.tab[host]; ok && it.d != nil {
		return it.d, true
	}
	if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") {
		if it, ok := c.tab["*."+parent]; ok && it.d != nil {
			return it.d, true
		}
	}
	return nil, false
}

// DomainCertificate is the certificate of the HTTPS custom domain
// serving serverName (a TLS handshake's SNI), nil when none has one.
func (s *JetStream) DomainCertificate(serverName string) *tls.Certificate {
	sd, ok := s.LookupDomain(strings.ToLower(strings.TrimSuffix(serverName, ".")))
	if !ok || !sd.Domain.ServesHTTPS() {
		return nil
	}
	return sd.Cert
}
