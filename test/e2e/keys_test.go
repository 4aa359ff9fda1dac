package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

// createKey runs `openfc keys create --json` with args and returns the key.
func (s *server) createKey(args ...string) client.AccessKey {
	s.t.Helper()
	out := s.cli(append([]string{"keys", "create", "--json"}, args...)...)
	var k client.AccessKey
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.AccessKeyID == "" || k.AccessKeySecret == "" {
		s.t.Fatalf("keys create %v: %v\n%s", args, err, out)
	}
	return k
}

func creds(k client.AccessKey) fcsign.Credentials {
	return fcsign.Credentials{AccessKeyID: k.AccessKeyID, AccessKeySecret: k.AccessKeySecret}
}

// triggerCall signs a GET of svc/fn's HTTP trigger (header form) with c.
func (s *server) triggerCall(c fcsign.Credentials, svc, fn string) (*http.Response, []byte) {
	s.t.Helper()
	req := s.newRequest("GET", "/2016-08-15/proxy/"+svc+"/"+fn+"/k?x=1", "")
	fcsign.Sign(c, req)
	return s.send(req)
}

// apiCode is the FC error code of a pkg/client error; "" for nil.
func apiCode(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

// TestAccessKeys: keys made with the CLI sign trigger calls and API calls
// as far as their scope goes, stop at once when deleted or expired, never
// reach the server's log, and survive a restart (but not a change of the
// admin key, which they are sealed under).
func TestAccessKeys(t *testing.T) {
	s := startServer(t, "", "--log-level", "debug")
	s.deployAuthEcho("keysvc", "fn")
	s.deployAuthEcho("othersvc", "fn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	invoke := s.createKey("--invoke-only", "--description", "invoker")
	scoped := s.createKey("--resource", "keysvc/fn")
	expiring := s.createKey("--expires", "3s")
	secrets := []string{invoke.AccessKeySecret, scoped.AccessKeySecret, expiring.AccessKeySecret}
	if out := s.cli("keys", "list"); !strings.Contains(out, invoke.AccessKeyID) || !strings.Contains(out, "invoker") || strings.Contains(out, invoke.AccessKeySecret) {
		t.Errorf("keys list:\n%s", out)
	}
	apiAs := func(k client.AccessKey) *client.Client {
		return client.New(s.URL, accountID, client.Credentials{AccessKeyID: k.AccessKeyID, AccessKeySecret: k.AccessKeySecret})
	}
	invokeFunction := func(k client.AccessKey, svc string) error {
		resp, err := apiAs(k).InvokeFunction(ctx, svc, "", "fn", []byte("event"), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("InvokeFunction %s/fn: %d %s", svc, resp.StatusCode, b)
		}
		return nil
	}

	t.Run("invoke-only", func(t *testing.T) {
		resp, body := s.triggerCall(creds(invoke), "keysvc", "fn")
		echoOf(t, "trigger call signed by an invoke-only key", resp, body)
		u, _ := url.Parse(s.URL + "/2016-08-15/proxy/othersvc/fn/k")
		req, _ := http.NewRequest("GET", fcsign.PresignURL(creds(invoke), "GET", u, nil, time.Now().Add(time.Minute), "").String(), nil)
		resp, body = s.send(req)
		echoOf(t, "signed URL of an invoke-only key", resp, body)
		if err := invokeFunction(invoke, "keysvc"); err != nil {
			t.Errorf("InvokeFunction with an invoke-only key: %v", err)
		}
		if _, _, err := apiAs(invoke).ListServices(ctx, client.ListOptions{}); apiCode(err) != "AccessDenied" {
			t.Errorf("ListServices with an invoke-only key: %v; want AccessDenied", err)
		}
		if _, err := apiAs(invoke).GetFunction(ctx, "keysvc", "fn"); apiCode(err) != "AccessDenied" {
			t.Errorf("GetFunction with an invoke-only key: %v; want AccessDenied", err)
		}
		if _, err := apiAs(invoke).CreateAccessKey(ctx, client.CreateAccessKeyInput{}); apiCode(err) != "AccessDenied" {
			t.Errorf("CreateAccessKey with an invoke-only key: %v; want AccessDenied", err)
		}
	})

	t.Run("resource-scoped", func(t *testing.T) {
		resp, body := s.triggerCall(creds(scoped), "keysvc", "fn")
		echoOf(t, "trigger call of the key's function", resp, body)
		resp, body = s.triggerCall(creds(scoped), "othersvc", "fn")
		if e := expectError(t, "trigger call of another service", resp, body, 403, "AccessDenied"); !strings.Contains(e.ErrorMessage, "othersvc/fn") {
			t.Errorf("the 403 does not name the function: %s", e.ErrorMessage)
		}
		if err := invokeFunction(scoped, "keysvc"); err != nil {
			t.Errorf("InvokeFunction of the key's function: %v", err)
		}
		if err := invokeFunction(scoped, "othersvc"); apiCode(err) != "AccessDenied" {
			t.Errorf("InvokeFunction of another service: %v; want AccessDenied", err)
		}
		if _, err := apiAs(scoped).GetFunction(ctx, "keysvc", "fn"); err != nil {
			t.Errorf("GetFunction of the key's function: %v", err)
		}
		if _, err := apiAs(scoped).GetFunction(ctx, "othersvc", "fn"); apiCode(err) != "AccessDenied" {
			t.Errorf("GetFunction of another service: %v; want AccessDenied", err)
		}
		if _, _, err := apiAs(scoped).ListServices(ctx, client.ListOptions{}); apiCode(err) != "AccessDenied" {
			t.Errorf("ListServices (account-wide) with a scoped key: %v; want AccessDenied", err)
		}
	})

	t.Run("delete stops the key within a second", func(t *testing.T) {
		s.cli("keys", "delete", invoke.AccessKeyID)
		deadline := time.Now().Add(time.Second)
		for {
			resp, body := s.triggerCall(creds(invoke), "keysvc", "fn")
			if resp.StatusCode == 403 {
				expectError(t, "trigger call with a deleted key", resp, body, 403, "InvalidAccessKeyID")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deleted key still works after a second: %d %s", resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := invokeFunction(invoke, "keysvc"); apiCode(err) != "InvalidAccessKeyID" {
			t.Errorf("InvokeFunction with a deleted key: %v; want InvalidAccessKeyID", err)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		exp, err := time.Parse(time.RFC3339Nano, expiring.ExpiresTime)
		if err != nil {
			t.Fatalf("expiresTime %q: %v", expiring.ExpiresTime, err)
		}
		if time.Now().Before(exp) {
			resp, body := s.triggerCall(creds(expiring), "keysvc", "fn")
			echoOf(t, "trigger call before expiry", resp, body)
		}
		time.Sleep(time.Until(exp) + 100*time.Millisecond)
		resp, body := s.triggerCall(creds(expiring), "keysvc", "fn")
		expectError(t, "trigger call after expiry", resp, body, 403, "InvalidAccessKeyID")
	})

	// The access log records which key signed each trigger call.
	if log := s.log.String(); !strings.Contains(log, "key_id="+scoped.AccessKeyID) {
		t.Errorf("the server log never names key %s", scoped.AccessKeyID)
	}

	// Restart on the same data dir: the keys are still there, deleted
	// ones still gone.
	s.stop()
	s2 := startServer(t, s.dataDir, "--log-level", "debug")
	resp, body := s2.triggerCall(creds(scoped), "keysvc", "fn")
	echoOf(t, "scoped key after a restart", resp, body)
	resp, body = s2.triggerCall(creds(invoke), "keysvc", "fn")
	expectError(t, "deleted key after a restart", resp, body, 403, "InvalidAccessKeyID")

	// Another admin secret cannot unseal them: the keys stop working and
	// the server says which, once, without failing to start.
	s2.stop()
	s3 := startServerEnv(t, s.dataDir, []string{"OPENFC_ACCESS_KEY_SECRET=another-admin-secret-0123456789"}, "--log-level", "debug")
	resp, body = s3.triggerCall(creds(scoped), "keysvc", "fn")
	expectError(t, "key sealed under the previous admin secret", resp, body, 403, "InvalidAccessKeyID")
	warnings := 0
	for _, line := range strings.Split(s3.log.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "does not unseal") && strings.Contains(line, "key_id="+scoped.AccessKeyID) {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d warnings naming the key that does not unseal; want 1\n%s", warnings, s3.log.String())
	}

	for _, srv := range []*server{s, s2, s3} {
		log := srv.log.String()
		for _, secret := range append(secrets, accessKeySecret) {
			if strings.Contains(log, secret) {
				t.Errorf("a secret is in the server's log (%s…)", secret[:4])
			}
		}
	}
}
