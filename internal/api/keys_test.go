package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

var testAdminCred = fcsign.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// keysEnv is the API over a real store with access keys: two key caches
// on one NATS, as two nodes of a cluster would have.
type keysEnv struct {
	t      *testing.T
	ctx    context.Context
	st     *store.JetStream
	keys   *auth.Keys
	other  *auth.Keys // the second node's cache
	a      *api.API
	srv    *httptest.Server
	admin  *client.Client
	inv    *fakeInvoker
	logBuf *lockedBuffer
}

func newKeysEnv(t *testing.T) *keysEnv {
	t.Helper()
	ctx, _, st := storetest.Open(t)
	e := &keysEnv{t: t, ctx: ctx, st: st, inv: &fakeInvoker{}, logBuf: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, k := range []**auth.Keys{&e.keys, &e.other} {
		var err error
		if *k, err = auth.StartKeys(ctx, auth.KeysOptions{Admin: testAdminCred, Store: st, Logger: log}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup((*k).Close)
	}
	e.a = api.New(api.Options{
		Store:     st,
		Verifier:  &auth.Verifier{Keys: e.keys.Lookup},
		Invoker:   e.inv,
		AccountID: testAccount,
		PublicURL: testPublicURL,
		Keys:      e.keys,
		Logger:    log,
	})
	e.srv = httptest.NewServer(e.a)
	t.Cleanup(e.srv.Close)
	e.admin = e.client(client.Credentials(testAdminCred))
	return e
}

func (e *keysEnv) client(c client.Credentials) *client.Client {
	return client.New(e.srv.URL, testAccount, c)
}

// create makes a key through the API with the admin key.
func (e *keysEnv) create(in client.CreateAccessKeyInput) *client.AccessKey {
	e.t.Helper()
	k, err := e.admin.CreateAccessKey(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateAccessKey(%+v): %v", in, err)
	}
	return k
}

// errCode is the FC error code of err, "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	if ce, ok := err.(*client.Error); ok {
		return ce.Code
	}
	return "transport: " + err.Error()
}

func TestAccessKeysAPI(t *testing.T) {
	e := newKeysEnv(t)
	k := e.create(client.CreateAccessKeyInput{Description: "ci deploys", InvokeOnly: true, Resources: []string{"svc", "other/fn"}, ExpiresIn: "720h"})
	if !strings.HasPrefix(k.AccessKeyID, "LTAI") || len(k.AccessKeyID) != 24 || len(k.AccessKeySecret) != 30 {
		t.Errorf("created %q with a secret of %d characters", k.AccessKeyID, len(k.AccessKeySecret))
	}
	wantScope := client.KeyScope{InvokeOnly: true, Resources: []client.KeyResource{{Service: "svc"}, {Service: "other", Function: "fn"}}}
	exp, err := time.Parse(time.RFC3339Nano, k.ExpiresTime)
	if err != nil || exp.Sub(time.Now()) < 719*time.Hour || k.Description != "ci deploys" || !scopeEqual(k.Scope, wantScope) || k.CreatedTime == "" {
		t.Errorf("created key = %+v (expires parse: %v)", k, err)
	}
	plain := e.create(client.CreateAccessKeyInput{})
	if plain.ExpiresTime != "" || plain.Scope.InvokeOnly || len(plain.Scope.Resources) != 0 {
		t.Errorf("key with no options = %+v", plain)
	}

	list, err := e.admin.ListAccessKeys(e.ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAccessKeys = %+v, %v", list, err)
	}
	for _, l := range list {
		if l.AccessKeySecret != "" {
			t.Errorf("list shows a secret: %+v", l)
		}
	}
	if !slices.IsSortedFunc(list, func(a, b client.AccessKey) int { return strings.Compare(a.AccessKeyID, b.AccessKeyID) }) {
		t.Errorf("list not sorted by ID: %+v", list)
	}
	got, err := e.admin.GetAccessKey(e.ctx, k.AccessKeyID)
	if err != nil || got.AccessKeySecret != "" || got.Description != "ci deploys" || !scopeEqual(got.Scope, wantScope) {
		t.Errorf("GetAccessKey = %+v, %v", got, err)
	}
	// The raw create response: 201, not cacheable.
	status, h, body := e.rawAdmin("POST", "/access-keys", `{"description":"raw"}`)
	if status != http.StatusCreated || h.Get("Cache-Control") != "no-store" || !strings.Contains(body, `"accessKeySecret"`) {
		t.Errorf("raw create: %d %v %s", status, h, body)
	}

	// The key works for signing on both nodes at once, then stops on
	// both within a second of its deletion.
	user := e.client(k.Credentials())
	if err := waitKey(e.other, k.AccessKeyID, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.keys.Lookup(k.AccessKeyID); !ok {
		t.Fatal("created key unknown to the node that created it")
	}
	if _, _, err := user.ListServices(e.ctx, client.ListOptions{}); errCode(err) != "AccessDenied" {
		t.Errorf("invoke-only key listing services: %v; want AccessDenied", err)
	}
	if err := e.admin.DeleteAccessKey(e.ctx, k.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := user.ListServices(e.ctx, client.ListOptions{}); errCode(err) != "InvalidAccessKeyID" {
		t.Errorf("deleted key: %v; want InvalidAccessKeyID", err)
	}
	if err := waitKey(e.other, k.AccessKeyID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.GetAccessKey(e.ctx, k.AccessKeyID); errCode(err) != "AccessKeyNotFound" {
		t.Errorf("get of a deleted key: %v", err)
	}
	if err := e.admin.DeleteAccessKey(e.ctx, k.AccessKeyID); errCode(err) != "AccessKeyNotFound" {
		t.Errorf("second delete: %v", err)
	}
	if err := e.admin.DeleteAccessKey(e.ctx, testKeyID); errCode(err) != "InvalidArgument" {
		t.Errorf("delete of the admin key: %v", err)
	}

	// Only the admin key manages keys, whatever the other key's scope.
	full := e.client(plain.Credentials())
	if _, err := full.CreateAccessKey(e.ctx, client.CreateAccessKeyInput{}); errCode(err) != "AccessDenied" {
		t.Errorf("non-admin create: %v; want AccessDenied", err)
	}
	if _, err := full.ListAccessKeys(e.ctx); errCode(err) != "AccessDenied" {
		t.Errorf("non-admin list: %v; want AccessDenied", err)
	}
	if err := full.DeleteAccessKey(e.ctx, plain.AccessKeyID); errCode(err) != "AccessDenied" {
		t.Errorf("non-admin delete: %v; want AccessDenied", err)
	}
	if _, _, err := full.ListServices(e.ctx, client.ListOptions{}); err != nil {
		t.Errorf("full-access key listing services: %v", err)
	}

	// The log names key ids, never a secret.
	logs := e.logBuf.String()
	if !strings.Contains(logs, "key_id="+plain.AccessKeyID) {
		t.Errorf("the log never names key %s:\n%s", plain.AccessKeyID, logs)
	}
	for _, secret := range []string{k.AccessKeySecret, plain.AccessKeySecret, testKeySecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the log:\n%s", logs)
		}
	}
}

func scopeEqual(a, b client.KeyScope) bool {
	return a.InvokeOnly == b.InvokeOnly && slices.Equal(a.Resources, b.Resources)
}

// waitKey waits up to a second for the cache to know (or forget) id.
func waitKey(k *auth.Keys, id string, known bool) error {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := k.Lookup(id); ok == known {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("key %s: known=%v not seen within a second", id, known)
		}
	}
}

// rawAdmin sends a request signed with the admin key.
func (e *keysEnv) rawAdmin(method, path, body string) (int, http.Header, string) {
	e.t.Helper()
	return e.rawSigned(testAdminCred, method, path, body)
}

func (e *keysEnv) rawSigned(c fcsign.Credentials, method, path, body string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+"/"+fc.APIVersion+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	fcsign.Sign(c, req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

func TestAccessKeysBadInput(t *testing.T) {
	e := newKeysEnv(t)
	for _, tc := range []struct {
		name, body, field string // field: in the message
	}{
		{"unknown field", `{"expires":"1h"}`, `"expires"`},
		{"resource with two slashes", `{"resources":["a/b/c"]}`, "resources[0]"},
		{"resource with an empty service", `{"resources":["/fn"]}`, "resources[0] service"},
		{"resource with an empty function", `{"resources":["ok","svc/"]}`, "resources[1] function"},
		{"resource with a bad name", `{"resources":["1svc"]}`, "resources[0] service"},
		{"resource not a string", `{"resources":[{"service":"a"}]}`, "resources"},
		{"negative duration", `{"expiresIn":"-1h"}`, "expiresIn"},
		{"zero duration", `{"expiresIn":"0s"}`, "expiresIn"},
		{"not a duration", `{"expiresIn":"30 days"}`, "expiresIn"},
		{"invokeOnly not a bool", `{"invokeOnly":"yes"}`, "invokeOnly"},
		{"description too long", `{"description":"` + strings.Repeat("d", 257) + `"}`, "description"},
		{"not JSON", `{"description":`, "JSON"},
		{"not an object", `[1]`, "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := e.rawAdmin("POST", "/access-keys", tc.body)
			var eb fc.ErrorBody
			_ = json.Unmarshal([]byte(body), &eb)
			if status != 400 || eb.ErrorCode != "InvalidArgument" || !strings.Contains(eb.ErrorMessage, tc.field) {
				t.Errorf("%d %s; want 400 InvalidArgument naming %s", status, body, tc.field)
			}
		})
	}
	if list, err := e.admin.ListAccessKeys(e.ctx); err != nil || len(list) != 0 {
		t.Errorf("refused creates stored keys: %+v, %v", list, err)
	}
}
