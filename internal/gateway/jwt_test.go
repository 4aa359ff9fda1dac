package gateway

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// fakeJWT stands for auth.JWT: "Bearer good" in Authorization, or
// token=good in a URL-encoded form, verifies; it passes X-Uid: alice and
// answers rewrite as the new body.
type fakeJWT struct {
	mu      sync.Mutex
	paths   []string
	rewrite []byte
}

func (f *fakeJWT) VerifyJWT(_ *fc.JWTAuthConfig, r *http.Request, path string, readForm func() ([]byte, error)) ([]byte, error) {
	f.mu.Lock()
	f.paths = append(f.paths, path)
	rewrite := f.rewrite
	f.mu.Unlock()
	tok := r.Header.Get("Authorization")
	if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		b, err := readForm()
		if err != nil {
			return nil, err
		}
		if q, _ := url.ParseQuery(string(b)); q.Get("token") != "" {
			tok = "Bearer " + q.Get("token")
		}
	}
	if tok != "Bearer good" {
		return nil, fc.Errorf(fc.CodeUnauthorized, "the request carries no token")
	}
	r.Header.Set("X-Uid", "alice")
	return rewrite, nil
}

func (f *fakeJWT) lastPath() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.paths) == 0 {
		return ""
	}
	return f.paths[len(f.paths)-1]
}

// TestJWTStage: a jwt trigger's call is verified before an instance is
// taken; the verifier sees the function's path; the token and the
// passed claims reach the function.
func TestJWTStage(t *testing.T) {
	e := newTestEnv(t, testLimits)

	t.Run("refused: no instance, no call", func(t *testing.T) {
		resp, body := e.do(e.req("GET", proxy+"jwt/a/b?x=1", "", nil))
		checkFCError(t, resp, body, http.StatusUnauthorized, fc.CodeUnauthorized)
		if acq, _ := e.inst.counts(); acq != 0 || e.upstreamHits() != 0 {
			t.Errorf("acquired %d instances, %d calls reached the function; want none", acq, e.upstreamHits())
		}
		if got := e.jwt.lastPath(); got != "/a/b" {
			t.Errorf("the verifier saw path %q; want the function's /a/b", got)
		}
	})

	t.Run("accepted", func(t *testing.T) {
		r := e.req("GET", proxy+"jwt/a", "", nil)
		r.Header.Set("Authorization", "Bearer good")
		r.Header.Set("X-Uid", "mallory")
		resp, body := e.do(r)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		s := e.lastSeen()
		if got := s.Header.Get("Authorization"); got != "Bearer good" {
			t.Errorf("the function got Authorization %q; want the token as sent", got)
		}
		if got := s.Header.Values("X-Uid"); len(got) != 1 || got[0] != "alice" {
			t.Errorf("the function got X-Uid %q; want [alice]", got)
		}
	})

	form := func(body string, chunked bool) *http.Request {
		var rd io.Reader = strings.NewReader(body)
		if chunked {
			rd = hideLength{rd}
		}
		r := e.req("POST", proxy+"jwt/form", "", rd)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	for _, chunked := range []bool{false, true} {
		t.Run("form replayed, chunked "+strconv.FormatBool(chunked), func(t *testing.T) {
			resp, body := e.do(form("a=1&token=good&b=2", chunked))
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			s := e.lastSeen()
			if s.Body != "a=1&token=good&b=2" || s.Header.Get("Content-Length") != "18" {
				t.Errorf("the function got body %q (Content-Length %q); want it unchanged, 18 bytes", s.Body, s.Header.Get("Content-Length"))
			}
		})
		t.Run("form over the limit, chunked "+strconv.FormatBool(chunked), func(t *testing.T) {
			before := e.upstreamHits()
			acqBefore, _ := e.inst.counts()
			resp, body := e.do(form("token=good&pad="+strings.Repeat("x", int(testLimits.MaxSyncBody)), chunked))
			eb := checkFCError(t, resp, body, http.StatusBadRequest, fc.CodeInvalidArgument)
			if !strings.Contains(eb.ErrorMessage, "limit of 1000 bytes") && !strings.Contains(eb.ErrorMessage, "the limit is 1000 bytes") {
				t.Errorf("message %q does not give the limit", eb.ErrorMessage)
			}
			if acq, _ := e.inst.counts(); acq != acqBefore || e.upstreamHits() != before {
				t.Errorf("a body over the limit reached an instance")
			}
		})
	}

	t.Run("form rewritten", func(t *testing.T) {
		e.jwt.mu.Lock()
		e.jwt.rewrite = []byte("uid=alice")
		e.jwt.mu.Unlock()
		defer func() { e.jwt.mu.Lock(); e.jwt.rewrite = nil; e.jwt.mu.Unlock() }()
		resp, body := e.do(form("token=good&uid=mallory", false))
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if s := e.lastSeen(); s.Body != "uid=alice" || s.Header.Get("Content-Length") != "9" {
			t.Errorf("the function got %q (Content-Length %q); want the rewritten form", s.Body, s.Header.Get("Content-Length"))
		}
	})
}

// TestJWTStageUnwired: a jwt trigger on a gateway without a verifier
// fails closed.
func TestJWTStageUnwired(t *testing.T) {
	e := newTestEnv(t, testLimits)
	e.gw.opts.JWT = nil
	r := e.req("GET", proxy+"jwt/", "", nil)
	r.Header.Set("Authorization", "Bearer good")
	resp, body := e.do(r)
	checkFCError(t, resp, body, http.StatusInternalServerError, fc.CodeInternalServerError)
	if e.upstreamHits() != 0 {
		t.Error("the call reached the function unverified")
	}
}
