package auth

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// TestPresignURL: a URL the server signs for a key verifies with
// VerifyURL until it expires; it never outlives the key; an unknown key
// signs nothing.
func TestPresignURL(t *testing.T) {
	v := testVerifier()
	keyExpires := testNow.Add(3 * time.Minute)
	keys := v.Keys
	v.Keys = func(id string) (Key, bool) {
		if id == "short" {
			return Key{Secret: "s2", Expires: keyExpires}, true
		}
		return keys(id)
	}
	u := &url.URL{Scheme: "http", Host: "h", Path: "/2016-08-15/services/s/functions/f/code/zip"}
	signed, err := v.PresignURL("akid", http.MethodGet, u, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.Query().Get(fcsign.QueryExpires); got != strconv.FormatInt(testNow.Add(10*time.Minute).Unix(), 10) {
		t.Errorf("x-fc-expires %s; want now + 10 minutes", got)
	}
	r, _ := http.NewRequest(http.MethodGet, signed.String(), nil)
	p, err := v.VerifyURL(r)
	wantCode(t, err, "", "")
	if p.KeyID != "akid" {
		t.Errorf("principal %+v; want akid", p)
	}
	later := *v
	later.Now = func() time.Time { return testNow.Add(11 * time.Minute) }
	_, err = later.VerifyURL(r)
	wantCode(t, err, fc.CodeAccessDenied, "expired")

	short, err := v.PresignURL("short", http.MethodGet, u, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := short.Query().Get(fcsign.QueryExpires); got != strconv.FormatInt(keyExpires.Unix(), 10) {
		t.Errorf("x-fc-expires %s for a key expiring sooner; want the key's expiry", got)
	}
	_, err = v.PresignURL("nobody", http.MethodGet, u, time.Minute)
	wantCode(t, err, fc.CodeInvalidAccessKeyID, "nobody")
}
