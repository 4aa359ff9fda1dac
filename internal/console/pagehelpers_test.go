package console

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestVersionsAndDomainsHelpers checks what the Versions & Aliases and
// Custom domains pages compute: the gateway's choice of HTTP trigger for
// a qualifier, the proxy URL of a qualifier, the weight sent for a
// percentage, and the curl command that calls a domain.
func TestVersionsAndDomainsHelpers(t *testing.T) {
	const script = `
import * as v from './versions.js';
import * as d from './domains.js';
const t = (name, q, extra = {}) => ({ triggerName: name, triggerType: 'http', qualifier: q, ...extra });
const ts = [t('b', 'LATEST'), t('a', ''), t('c', 'prod', { urlIntranet: 'https://fc.example.com:9000/2016-08-15/proxy/s/f/' }),
  { triggerName: '0timer', triggerType: 'timer', qualifier: 'prod' }];
const name = (x) => (x ? x.triggerName : null);
console.log(JSON.stringify({
  latest: name(v.triggerFor(ts, 'LATEST')),
  prod: name(v.triggerFor(ts, 'prod')),
  version: name(v.triggerFor(ts, '3')),
  none: name(v.triggerFor([ts[3]], 'prod')),
  base: v.baseURL(ts, 'http://origin'),
  baseNone: v.baseURL([t('a', '')], 'http://origin'),
  proxy: v.proxyURL('http://h:1', 'my svc', 'prod', 'f'),
  w30: v.weightToAPI('2', '30'),
  w100: v.weightToAPI('2', 100),
  wtiny: v.weightToAPI('2', '0.01'),
  wnone: v.weightToAPI('', '50'),
  quote: d.shellQuote("it's"),
  plain: d.shellQuote('http://h:1/a'),
  curl: d.curlFor({ domainName: 'shop.example.com', routeConfig: { routes: [{ path: '/api/*' }] } }, 'http://127.0.0.1:9000'),
  wild: d.curlFor({ domainName: '*.example.com' }, 'http://h'),
}));
`
	var got map[string]any
	runJS(t, script, nil, &got)
	want := map[string]any{
		"latest":   "a", // unbound (LATEST) before b by name
		"prod":     "c",
		"version":  "a", // none bound to 3: the smallest name
		"none":     nil,
		"base":     "https://fc.example.com:9000",
		"baseNone": "http://origin",
		"proxy":    "http://h:1/2016-08-15/proxy/my%20svc.prod/f/",
		"w30":      map[string]any{"2": 0.3},
		"w100":     map[string]any{"2": 1.0},
		"wtiny":    map[string]any{"2": 0.0001},
		"wnone":    map[string]any{},
		"quote":    `'it'\''s'`,
		"plain":    "http://h:1/a",
		"curl":     "curl -H 'Host: shop.example.com' http://127.0.0.1:9000/api/",
		"wild":     "curl -H 'Host: www.example.com' http://h/",
	}
	for k, w := range want {
		gj, _ := json.Marshal(got[k])
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("%s = %s; want %s", k, gj, wj)
		}
	}
}
