package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// fakePeers sends every call to one node, when set.
type fakePeers struct{ name, url string }

func (p fakePeers) PeerFor(*fc.Function) (string, string, bool) { return p.name, p.url, p.url != "" }

// peerEnv is two nodes' gateways, a and b, each with an instance of its
// own (an upstream that records the headers it saw); a has no free
// instance and sends its calls to b.
type peerEnv struct {
	a, b       *httptest.Server
	aInst      *fakeInstances
	bInst      *fakeInstances
	aAccess    *syncBuf
	mu         sync.Mutex
	seenBy     []string // which upstream answered, in order
	forwardHdr []string // X-Openfc-Forwarded as the function saw it
}

func newPeerEnv(t *testing.T, bURL func(*httptest.Server) string) *peerEnv {
	t.Helper()
	e := &peerEnv{aInst: &fakeInstances{noFastPath: true}, bInst: &fakeInstances{noFastPath: true}, aAccess: &syncBuf{}}
	upstream := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			e.mu.Lock()
			e.seenBy = append(e.seenBy, name)
			e.forwardHdr = append(e.forwardHdr, r.Header.Get(headerForwarded))
			e.mu.Unlock()
			w.Header().Set("X-Served-By", name)
			io.WriteString(w, name+":"+r.Method+":"+r.URL.Path+":"+string(b))
		}))
		t.Cleanup(s.Close)
		return s
	}
	upA, upB := upstream("a"), upstream("b")
	e.aInst.dial, e.bInst.dial = dialTo(upA.Listener.Addr().String()), dialTo(upB.Listener.Addr().String())
	gateway := func(inst *fakeInstances, peers Peers, access *syncBuf) *Gateway {
		fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 5}
		cat := &fakeCatalog{fns: map[string]*fc.Function{"svc/fn": fn},
			trigs: map[string]*fc.Trigger{"svc/fn": trig("aaaa-1111", fc.AuthAnonymous, "GET", "POST")}}
		gw := New(Options{Catalog: cat, Instances: inst, Peers: peers, Verifier: fakeVerifier{}, Region: testRegion,
			AccountID: testAccount, TriggerDomain: testDomain, AccessLog: slog.New(slog.NewTextHandler(access, nil))})
		t.Cleanup(gw.upstream.CloseIdle)
		return gw
	}
	// b would send its calls back to a: the one-hop rule stops that.
	var gwA, gwB *Gateway
	e.a = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gwA.ServeHTTP(w, r) }))
	e.a.Start()
	t.Cleanup(e.a.Close)
	gwB = gateway(e.bInst, fakePeers{name: "a", url: e.a.URL}, &syncBuf{})
	e.b = httptest.NewServer(gwB)
	t.Cleanup(e.b.Close)
	gwA = gateway(e.aInst, fakePeers{name: "b", url: bURL(e.b)}, e.aAccess)
	return e
}

func (e *peerEnv) served() (by, hdr []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seenBy...), append([]string(nil), e.forwardHdr...)
}

// A call the node cannot serve goes to the peer, once: the peer serves
// it from its own instance and does not send it on; the function never
// sees the mark; the answer comes back as the peer sent it, and the
// access log names the peer.
func TestForwardToPeer(t *testing.T) {
	e := newPeerEnv(t, func(b *httptest.Server) string { return b.URL })
	resp, body := get(t, e.a.Client(), "POST", e.a.URL+fnURL+"x?q=1", strings.NewReader("hello"))
	if resp.StatusCode != 200 || body != "b:POST:/x:hello" || resp.Header.Get("X-Served-By") != "b" {
		t.Fatalf("forwarded call: %d %q (served by %q); want 200 from b's instance", resp.StatusCode, body, resp.Header.Get("X-Served-By"))
	}
	if resp.Header.Get(fc.HeaderRequestID) == "" {
		t.Errorf("the forwarded answer has no %s", fc.HeaderRequestID)
	}
	by, hdr := e.served()
	if len(by) != 1 || hdr[0] != "" {
		t.Errorf("upstreams answered %v, the function saw %s %q; want b once, without it", by, headerForwarded, hdr)
	}
	if a, _ := e.aInst.counts(); a != 0 {
		t.Errorf("node a acquired %d of its own leases for a forwarded call", a)
	}
	if a, r := e.bInst.counts(); a != 1 || r != 1 {
		t.Errorf("node b acquired %d, released %d leases; want 1, 1", a, r)
	}
	if log := e.aAccess.String(); !strings.Contains(log, "forwarded_to=b") || !strings.Contains(log, "status=200") {
		t.Errorf("node a's access log does not name b:\n%s", log)
	}
}

// A client that sets the mark only keeps its call from being forwarded:
// it is served here, and the function does not see the mark.
func TestForwardMarkFromClient(t *testing.T) {
	e := newPeerEnv(t, func(b *httptest.Server) string { return b.URL })
	req, _ := http.NewRequest("GET", e.a.URL+fnURL, nil)
	req.Header.Set(headerForwarded, "1")
	resp, err := e.a.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "a:") {
		t.Fatalf("call marked by the client: %d %q; want 200 from a's own instance", resp.StatusCode, body)
	}
	if _, hdr := e.served(); hdr[0] != "" {
		t.Errorf("the function saw %s: %q", headerForwarded, hdr[0])
	}
}

// A peer that cannot be reached: 503, naming it.
func TestForwardPeerUnreachable(t *testing.T) {
	e := newPeerEnv(t, func(*httptest.Server) string {
		ln := httptest.NewServer(http.NotFoundHandler())
		ln.Close() // a port nobody listens on
		return ln.URL
	})
	resp, body := get(t, e.a.Client(), "GET", e.a.URL+fnURL, nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "node b") {
		t.Fatalf("unreachable peer: %d %s; want 503 naming node b", resp.StatusCode, body)
	}
}
