package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

// versionsSetup deploys the echo function twice with different VER
// ECHO_VER environment values and publishes each as a version ("1" and "2");
// LATEST then is version 2's configuration.
func versionsSetup(t *testing.T, s *server, service string) *client.Client {
	t.Helper()
	c := client.New(s.URL, accountID, client.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret})
	for i, ver := range []string{"one", "two"} {
		s.deployEcho(echoOpts{service: service, name: "echo", env: map[string]string{"ECHO_VER": ver}, concurrency: 20})
		out := s.cli("versions", "publish", service, "--description", "release "+ver)
		if want := fmt.Sprintf("published version %d of service %s", i+1, service); !strings.Contains(out, want) {
			t.Fatalf("versions publish: %q; want %q", out, want)
		}
	}
	return c
}

// versionHit is one answer of the echo function through a qualifier.
type versionHit struct {
	env, sawVersion, sawQualifier, header string
	start, end                            time.Time
	failure                               string
}

func getVersion(hc *http.Client, url string) versionHit {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return versionHit{failure: err.Error()}
	}
	return getVersionReq(hc, req)
}

func getVersionReq(hc *http.Client, req *http.Request) versionHit {
	h := versionHit{start: time.Now()}
	resp, err := hc.Do(req)
	if err != nil {
		h.failure = err.Error()
		h.end = time.Now()
		return h
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h.end = time.Now()
	if resp.StatusCode != 200 {
		h.failure = fmt.Sprintf("%d %s", resp.StatusCode, body)
		return h
	}
	var r echoReply
	if err := json.Unmarshal(body, &r); err != nil {
		h.failure = "not echo JSON: " + string(body)
		return h
	}
	h.env, h.sawVersion, h.sawQualifier = r.Env["ECHO_VER"], r.Headers["x-fc-version-id"], r.Headers["x-fc-qualifier"]
	h.header = resp.Header.Get("X-Fc-Invocation-Service-Version")
	return h
}

// TestVersionsWeightedAlias: an alias with additionalVersionWeight 0.3
// splits 1,000 requests within 4.5 binomial standard deviations; each
// answer names the version that served it (X-Fc-Invocation-Service-Version),
// which is the version the instance saw (x-fc-version-id) and whose
// configuration ran. A version an alias uses cannot be deleted, and the
// proxy form, InvokeFunction and a version id all resolve.
func TestVersionsWeightedAlias(t *testing.T) {
	s := startServer(t, "")
	c := versionsSetup(t, s, "vers")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out := s.cli("aliases", "create", "vers", "prod", "--version", "1", "--weight", "2=0.3"); !strings.Contains(out, "2=0.3") {
		t.Fatalf("aliases create: %s", out)
	}
	verEnv := map[string]string{"1": "one", "2": "two"}

	const n, workers = 1000, 8
	hits := make(chan versionHit, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				hits <- getVersion(http.DefaultClient, s.URL+"/2016-08-15/proxy/vers.prod/echo/")
			}
		}()
	}
	wg.Wait()
	close(hits)
	count := map[string]int{}
	for h := range hits {
		if h.failure != "" {
			t.Fatalf("a request failed: %s", h.failure)
		}
		if h.header != h.sawVersion || verEnv[h.header] != h.env || h.sawQualifier != "prod" {
			t.Fatalf("answer header version %q, instance saw version %q qualifier %q, ran VER=%q: they disagree",
				h.header, h.sawVersion, h.sawQualifier, h.env)
		}
		count[h.header]++
	}
	sigma := math.Sqrt(n * 0.3 * 0.7)
	if d := math.Abs(float64(count["2"]) - n*0.3); count["1"]+count["2"] != n || d > 4.5*sigma {
		t.Fatalf("split %v: version 2 is %.0f from the expected %.0f; the bound is 4.5σ = %.0f", count, d, n*0.3, 4.5*sigma)
	}
	t.Logf("split over %d requests: %v (expected 300 ± %.0f)", n, count, 4.5*sigma)

	// A version id, LATEST, and the unknown.
	if h := getVersion(http.DefaultClient, s.URL+"/2016-08-15/proxy/vers.1/echo/"); h.env != "one" || h.header != "1" || h.sawQualifier != "1" {
		t.Errorf("vers.1: %+v", h)
	}
	if h := getVersion(http.DefaultClient, s.URL+"/2016-08-15/proxy/vers/echo/"); h.env != "two" || h.header != "LATEST" || h.sawVersion != "LATEST" {
		t.Errorf("LATEST: %+v", h)
	}
	for path, code := range map[string]string{"vers.7": "VersionNotFound", "vers.dev": "AliasNotFound"} {
		resp, body := s.do("GET", "/2016-08-15/proxy/"+path+"/echo/", nil, nil)
		if e := decodeError(t, resp, body); resp.StatusCode != 404 || e.ErrorCode != code {
			t.Errorf("%s: %d %s; want 404 %s", path, resp.StatusCode, body, code)
		}
	}

	// A trigger bound to the alias: its subdomain resolves through it; a
	// second HTTP trigger for the same qualifier, or one for an alias that
	// does not exist, is refused.
	trig := client.Trigger{TriggerName: "prodhttp", TriggerType: "http", Qualifier: "prod",
		TriggerConfig: &client.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET"}}}
	made, err := c.CreateTrigger(ctx, "vers", "echo", trig)
	if err != nil {
		t.Fatalf("trigger on prod: %v", err)
	}
	u, err := neturl.Parse(made.URLInternet)
	if err != nil || !strings.Contains(u.Host, "fcapp.localhost") {
		t.Fatalf("trigger on prod: urlInternet %q", made.URLInternet)
	}
	req, _ := http.NewRequest("GET", s.URL+"/", nil)
	req.Host = u.Host
	if h := getVersionReq(http.DefaultClient, req); h.failure != "" || h.sawQualifier != "prod" || verEnv[h.header] != h.env || h.header != h.sawVersion {
		t.Errorf("the subdomain of the trigger bound to prod: %+v", h)
	}
	trig.TriggerName = "prodhttp2"
	if _, err := c.CreateTrigger(ctx, "vers", "echo", trig); err == nil {
		t.Error("a second HTTP trigger for prod was accepted")
	}
	trig.TriggerName, trig.Qualifier = "devhttp", "dev"
	if _, err := c.CreateTrigger(ctx, "vers", "echo", trig); !client.HasCode(err, "AliasNotFound") {
		t.Errorf("a trigger for an unknown alias: %v; want AliasNotFound", err)
	}
	if err := c.DeleteTrigger(ctx, "vers", "echo", "prodhttp"); err != nil {
		t.Fatal(err)
	}

	// InvokeFunction with the alias.
	resp, err := c.InvokeFunction(ctx, "vers", "prod", "echo", []byte("hi"), nil)
	if err != nil {
		t.Fatalf("InvokeFunction vers.prod: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if v := resp.Header.Get("X-Fc-Invocation-Service-Version"); v != "1" && v != "2" || !strings.Contains(string(body), `"x-fc-version-id": "`+v+`"`) {
		t.Errorf("InvokeFunction vers.prod: version %q, body %s", v, body)
	}

	// Deleting a version the alias uses is refused, naming the alias.
	err = c.DeleteVersion(ctx, "vers", "2")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "VersionInUse" || !strings.Contains(ae.Message, "prod") {
		t.Fatalf("deleting version 2 used by prod: %v; want 400 VersionInUse naming prod", err)
	}
	if out, err := s.tryCLI("versions", "delete", "vers", "1"); err == nil || !strings.Contains(out, "prod") {
		t.Errorf("openfc versions delete of a used version: %v %s", err, out)
	}
	s.cli("aliases", "update", "vers", "prod", "--version", "2", "--no-weights")
	s.cli("versions", "delete", "vers", "1")
	if out := s.cli("versions", "list", "vers"); strings.Contains(out, "release one") || !strings.Contains(out, "release two") {
		t.Errorf("versions list after deleting 1:\n%s", out)
	}
	if out := s.cli("--json", "aliases", "list", "vers"); !strings.Contains(out, `"versionId": "2"`) {
		t.Errorf("aliases list --json:\n%s", out)
	}
}

// TestVersionsAliasMovesUnderLoad: requests flow through an alias while
// it is moved from version 1 to 2. None fails; those that were being
// served when the move happened finish on version 1; every one sent after
// the move returned goes to version 2; version 1's instances, idle from
// then on, are reclaimed.
func TestVersionsAliasMovesUnderLoad(t *testing.T) {
	s := startServer(t, "", "--idle-timeout", "3s")
	c := versionsSetup(t, s, "move")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.CreateAlias(ctx, "move", client.Alias{AliasName: "prod", VersionID: "1"}); err != nil {
		t.Fatal(err)
	}
	url := s.URL + "/2016-08-15/proxy/move.prod/echo/sleep?ms=800"
	getVersion(http.DefaultClient, url) // warm version 1

	var mu sync.Mutex
	var hits []versionHit
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				h := getVersion(http.DefaultClient, url)
				mu.Lock()
				hits = append(hits, h)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	moveStart := time.Now()
	if _, err := c.UpdateAlias(ctx, "move", "prod", map[string]any{"versionId": "2"}); err != nil {
		t.Fatal(err)
	}
	moveEnd := time.Now()
	time.Sleep(2500 * time.Millisecond)
	close(stop)
	wg.Wait()

	inFlightOld, after := 0, 0
	for _, h := range hits {
		switch {
		case h.failure != "":
			t.Errorf("a request failed while the alias moved: %s", h.failure)
		case h.header != h.sawVersion || h.sawQualifier != "prod":
			t.Errorf("answer says version %q, the instance saw %q (qualifier %q)", h.header, h.sawVersion, h.sawQualifier)
		case h.end.Before(moveStart) && h.header != "1":
			t.Errorf("a request answered before the move ran on version %s", h.header)
		case h.start.After(moveEnd):
			after++
			if h.header != "2" || h.env != "two" {
				t.Errorf("a request sent %v after the move returned ran on version %s (VER=%s)", h.start.Sub(moveEnd), h.header, h.env)
			}
		case h.start.Before(moveStart.Add(-50*time.Millisecond)) && h.end.After(moveEnd):
			inFlightOld++
			if h.header != "1" || h.env != "one" {
				t.Errorf("a request in flight during the move finished on version %s (VER=%s); want 1", h.header, h.env)
			}
		}
	}
	if inFlightOld == 0 || after == 0 {
		t.Fatalf("the load did not straddle the move: %d in flight across it, %d after it (of %d)", inFlightOld, after, len(hits))
	}
	t.Logf("%d requests: %d in flight across the move finished on version 1, %d after it went to version 2", len(hits), inFlightOld, after)

	// Version 1's instances, idle since the move, are reclaimed.
	waitFor(t, 30*time.Second, func() error {
		for _, line := range strings.Split(s.log.String(), "\n") {
			if strings.Contains(line, `msg="instance stopped"`) && strings.Contains(line, "function=move/echo@1 ") && strings.Contains(line, "reason=idle") {
				return nil
			}
		}
		return fmt.Errorf("no idle stop of version 1's instance logged")
	})
}

// TestVersionKeepsItsCode: the code a version references outlives the
// update of LATEST that stopped referencing it (which releases it to
// collection at once): the version's first call, a cold start, runs on it.
func TestVersionKeepsItsCode(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	code := t.TempDir()
	opts := echoOpts{service: "vcode", name: "echo", code: code, env: map[string]string{"ECHO_VER": "one"}}
	newCodeVersion(t, code, 64<<10)
	s.deployEcho(opts)
	sumA := s.codeChecksum("vcode", "echo")
	s.cli("versions", "publish", "vcode")
	newCodeVersion(t, code, 64<<10)
	opts.env["ECHO_VER"] = "two"
	s.deployEcho(opts)
	if sumB := s.codeChecksum("vcode", "echo"); sumB == sumA {
		t.Fatalf("the update kept checksum %s", sumA)
	}
	time.Sleep(time.Second) // the pass the update started
	if r := s.getEcho("/2016-08-15/proxy/vcode.1/echo/", nil); r.Env["ECHO_VER"] != "one" || r.Headers["x-fc-version-id"] != "1" {
		t.Fatalf("version 1 ran %+v", r)
	}
	if got := unpacked(t, dataDir); !slices.Contains(got, sumA) {
		t.Errorf("unpacked code %v; want version 1's %s among it", got, sumA)
	}
}

// TestCustomDomainRouteToAlias: a custom domain's route that names an
// alias resolves through it as the other ways in do: the answers come
// from the alias's versions, say which, and the instance sees the alias
// as its qualifier; moving the alias moves the domain's traffic.
func TestCustomDomainRouteToAlias(t *testing.T) {
	s := startServer(t, "")
	versionsSetup(t, s, "dver")
	s.cli("aliases", "create", "dver", "prod", "--version", "1")
	s.createDomain(t, map[string]any{"domainName": "shop.example.com", "protocol": "HTTP",
		"routeConfig": routes(map[string]any{"path": "/*", "serviceName": "dver", "functionName": "echo", "qualifier": "prod"})})
	via := func() versionHit {
		req, err := http.NewRequest("GET", s.URL+"/cart", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "shop.example.com"
		return getVersionReq(http.DefaultClient, req)
	}
	if h := via(); h.failure != "" || h.env != "one" || h.header != "1" || h.sawQualifier != "prod" {
		t.Fatalf("through the domain to prod (version 1): %+v", h)
	}
	s.cli("aliases", "update", "dver", "prod", "--version", "2")
	waitFor(t, 5*time.Second, func() error {
		if h := via(); h.env != "two" || h.header != "2" {
			return fmt.Errorf("after moving prod to version 2 the domain answers %+v", h)
		}
		return nil
	})
}

// TestExternalNATSAliasMoveOnEveryNode: two nodes on one NATS; an alias
// moved through node A sends node B's next requests to the new version
// (within the catalog watch's delay, bounded here by a second).
func TestExternalNATSAliasMoveOnEveryNode(t *testing.T) {
	url := startNATS(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url)
	versionsSetup(t, a, "nvers")
	a.cli("aliases", "create", "nvers", "prod", "--version", "1")
	onB := func() versionHit { return getVersion(http.DefaultClient, b.URL+"/2016-08-15/proxy/nvers.prod/echo/") }
	waitFor(t, 10*time.Second, func() error {
		if h := onB(); h.env != "one" || h.header != "1" {
			return fmt.Errorf("node b through prod before the move: %+v", h)
		}
		return nil
	})
	// Version 2 warm on node b: what is timed is the alias's move, not a
	// cold start.
	if h := getVersion(http.DefaultClient, b.URL+"/2016-08-15/proxy/nvers.2/echo/"); h.env != "two" {
		t.Fatalf("node b, version 2: %+v", h)
	}
	a.cli("aliases", "update", "nvers", "prod", "--version", "2")
	moved := time.Now()
	waitFor(t, 5*time.Second, func() error {
		if h := onB(); h.env != "two" || h.header != "2" {
			return fmt.Errorf("node b through prod after the move: %+v", h)
		}
		return nil
	})
	if d := time.Since(moved); d > time.Second {
		t.Errorf("node b followed the alias after %v; want within a second", d)
	}
}
