package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// The custom-domains API (FC 2.0's CreateCustomDomain and friends) under
// /2016-08-15/custom-domains. Domains are account-wide: only a key
// without resources may manage them (routeScope: no {service}), since a
// domain can route to any service. The private key is stored but never
// shown: GET and list answers carry the certificate only.

// DomainStore reads and writes custom domains (store.JetStream); errors
// as Store's.
type DomainStore interface {
	CreateCustomDomain(ctx context.Context, d *fc.CustomDomain) (uint64, error)
	GetCustomDomain(ctx context.Context, name string) (*fc.CustomDomain, uint64, error)
	UpdateCustomDomain(ctx context.Context, d *fc.CustomDomain, rev uint64) (uint64, error)
	DeleteCustomDomain(ctx context.Context, name string) error
	// ListCustomDomains returns every domain sorted by name.
	ListCustomDomains(ctx context.Context) ([]*fc.CustomDomain, error)
}

const domainsPath = v + "/custom-domains"

func (a *API) domainRoutes(h func(pattern string, fn handlerFunc)) {
	h("POST "+domainsPath, a.createDomain)
	h("GET "+domainsPath, a.listDomains)
	h("GET "+domainsPath+"/{domain}", a.getDomain)
	h("PUT "+domainsPath+"/{domain}", a.updateDomain)
	h("DELETE "+domainsPath+"/{domain}", a.deleteDomain)
}

// domainResponse is a domain as the API answers it: FC's fields without
// the private key, plus the warnings of the write (an expired
// certificate), which FC's SDKs ignore.
type domainResponse struct {
	*fc.CustomDomain
	Warnings []fc.DomainWarning `json:"warnings,omitempty"`
}

func (a *API) domains() (DomainStore, error) {
	if a.opts.Domains == nil {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "custom domains are not available on this server")
	}
	return a.opts.Domains, nil
}

func domainNotFound(name string) *fc.Error {
	return fc.Errorf(fc.CodeDomainNameNotFound, "domain name '%s' does not exist", name)
}

// domainOf is the store and the {domain} of the URL, normalized; a name
// that cannot be a domain cannot be stored, so it is not found.
func (a *API) domainOf(r *http.Request) (DomainStore, string, error) {
	ds, err := a.domains()
	if err != nil {
		return nil, "", err
	}
	raw := r.PathValue("domain")
	name, err := fc.NormalizeDomainName(raw)
	if err != nil {
		return nil, "", domainNotFound(raw)
	}
	return ds, name, nil
}

func (a *API) createDomain(r *http.Request, _ string) (int, any, http.Header, error) {
	ds, err := a.domains()
	if err != nil {
		return 0, nil, nil, err
	}
	var d fc.CustomDomain
	if err := a.decode(r, &d); err != nil {
		return 0, nil, nil, err
	}
	warnings, err := fc.ValidateCustomDomain(&d, a.opts.Now())
	if err != nil {
		return 0, nil, nil, err
	}
	d.AccountID, d.APIVersion = a.opts.AccountID, fc.APIVersion
	d.CreatedTime = a.now()
	d.LastModifiedTime = d.CreatedTime
	rev, err := ds.CreateCustomDomain(r.Context(), &d)
	if err != nil {
		return 0, nil, nil, storeErr(err, nil, fc.Errorf(fc.CodeDomainNameAlreadyExists, "domain name '%s' already exists", d.DomainName))
	}
	a.logDomain("custom domain created", r, &d, warnings)
	return http.StatusCreated, domainResponse{d.Public(), warnings}, etag(rev), nil
}

func (a *API) getDomain(r *http.Request, _ string) (int, any, http.Header, error) {
	ds, name, err := a.domainOf(r)
	if err != nil {
		return 0, nil, nil, err
	}
	d, rev, err := ds.GetCustomDomain(r.Context(), name)
	if err != nil {
		return 0, nil, nil, storeErr(err, domainNotFound(name), nil)
	}
	return http.StatusOK, d.Public(), etag(rev), nil
}

func (a *API) listDomains(r *http.Request, _ string) (int, any, http.Header, error) {
	ds, err := a.domains()
	if err != nil {
		return 0, nil, nil, err
	}
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	all, err := ds.ListCustomDomains(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(d *fc.CustomDomain) string { return d.DomainName })
	for i, d := range items {
		items[i] = d.Public()
	}
	return http.StatusOK, map[string]any{"customDomains": items, "nextToken": next}, nil, nil
}

// updateDomain merges the body into the stored domain (FC's
// UpdateCustomDomain: protocol, certConfig, routeConfig). A certConfig
// without a privateKey keeps the stored key when the certificate is the
// same, since GET never shows it and a client sends back what it read.
func (a *API) updateDomain(r *http.Request, _ string) (int, any, http.Header, error) {
	ds, name, err := a.domainOf(r)
	if err != nil {
		return 0, nil, nil, err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	cur, curRev, err := ds.GetCustomDomain(r.Context(), name)
	if err != nil {
		return 0, nil, nil, storeErr(err, domainNotFound(name), nil)
	}
	if rev != 0 && rev != curRev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	var upd fc.CustomDomain
	if err := a.mergeBody(r, cur, &upd); err != nil {
		return 0, nil, nil, err
	}
	if n, err := fc.NormalizeDomainName(upd.DomainName); err != nil || n != name {
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "domainName %q does not match the URL's '%s'", upd.DomainName, name)
	}
	if c := upd.CertConfig; c != nil && c.PrivateKey == "" && cur.CertConfig != nil &&
		strings.TrimSpace(c.Certificate) == strings.TrimSpace(cur.CertConfig.Certificate) {
		c.PrivateKey = cur.CertConfig.PrivateKey
	}
	warnings, err := fc.ValidateCustomDomain(&upd, a.opts.Now())
	if err != nil {
		return 0, nil, nil, err
	}
	upd.AccountID, upd.APIVersion, upd.CreatedTime = cur.AccountID, fc.APIVersion, cur.CreatedTime
	upd.LastModifiedTime = a.now()
	nrev, err := ds.UpdateCustomDomain(r.Context(), &upd, curRev)
	if err != nil {
		return 0, nil, nil, storeErr(err, domainNotFound(name), nil)
	}
	a.logDomain("custom domain updated", r, &upd, warnings)
	return http.StatusOK, domainResponse{upd.Public(), warnings}, etag(nrev), nil
}

func (a *API) deleteDomain(r *http.Request, _ string) (int, any, http.Header, error) {
	ds, name, err := a.domainOf(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := ds.DeleteCustomDomain(r.Context(), name); err != nil {
		return 0, nil, nil, storeErr(err, domainNotFound(name), nil)
	}
	a.log.Info("custom domain deleted", "domain", name, "by_key_id", principalFrom(r.Context()).KeyID)
	return http.StatusNoContent, nil, nil, nil
}

// logDomain logs a write, with its warnings (an expired certificate is
// accepted, as FC does, but an operator should hear of it).
func (a *API) logDomain(msg string, r *http.Request, d *fc.CustomDomain, warnings []fc.DomainWarning) {
	a.log.Info(msg, "domain", d.DomainName, "protocol", d.Protocol, "by_key_id", principalFrom(r.Context()).KeyID)
	for _, w := range warnings {
		a.log.Warn("custom domain: "+string(w), "domain", d.DomainName)
	}
}
