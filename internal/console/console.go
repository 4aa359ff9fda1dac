package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is the path under which the console's assets are served.
const Prefix = "/console/"

// securityPolicy is the Content-Security-Policy of every answer: only the
// console's own scripts, styles and connections, no framing, no <base>.
const securityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Cache policies: assets under the current version's path never change;
// the page and anything else is revalidated on every load (ETag).
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	versionPlacehold = "{{version}}"
)

// Options configures the console.
type Options struct {
	// Logger receives the console's debug messages (assets asked for and
	// not found); nil discards.
	Logger *slog.Logger
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
	// gzipped is body gzipped, made at its first request (nil when
	// compression would not pay: a small or already dense file).
	gzipped func() []byte
}

// gzipMin is the smallest asset worth compressing.
const gzipMin = 1024

// Handler serves the console page and its assets.
type Handler struct {
	log *slog.Logger
	// version is the content hash of every asset: assets are served under
	// /console/<version>/ with long cache headers, and the page refers to
	// them there, so a new build is a new URL.
	version string
	page    asset
	files   map[string]asset // by path relative to assets/, e.g. "js/app.js"
}

// New returns the console handler. It panics if the embedded assets are
// malformed (a build error, caught by the package's tests).
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{log: o.Logger, files: map[string]asset{}}
	sum := sha256.New()
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "assets/")
		sum.Write([]byte(rel + "\x00"))
		sum.Write(b)
		h.files[rel] = newAsset(rel, b)
		return nil
	})
	if err != nil {
		panic("console: reading embedded assets: " + err.Error())
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:16]
	page, ok := h.files["index.html"]
	if !ok {
		panic("console: assets/index.html is missing")
	}
	h.page = newAsset("index.html", bytes.ReplaceAll(page.body, []byte(versionPlacehold), []byte(h.version)))
	return h
}

func newAsset(name string, b []byte) asset {
	s := sha256.Sum256(b)
	a := asset{body: b, ctype: contentType(name), etag: `"` + hex.EncodeToString(s[:8]) + `"`}
	if len(b) >= gzipMin {
		a.gzipped = sync.OnceValue(func() []byte { return gzipOf(b) })
	}
	return a
}

// gzipOf compresses b, or returns nil when that saves less than an
// eighth (images and the like).
func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(b)                                       // a bytes.Buffer does not fail
	_ = zw.Close()
	if buf.Len() > len(b)-len(b)/8 {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (by name or "*", with a q-value other than 0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "*" {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if q, err := strconv.ParseFloat(strings.TrimSpace(val), 64); strings.EqualFold(k, "q") && err == nil && q == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

// contentType is the media type of an asset by its extension; JavaScript
// modules must be served as JavaScript for the browser to run them
// (nosniff).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// Version is the content hash under which the current assets are served.
func (h *Handler) Version() string { return h.version }

// ServeHTTP serves the page at "/", "/console" and "/console/", and the
// assets under /console/. Other methods get 405, unknown paths 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", securityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, cache, ok := h.lookup(r.URL.Path)
	if !ok {
		h.log.Debug("console asset not found", "path", r.URL.Path)
		hd.Set("Cache-Control", cacheRevalidate)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", cache)
	body, etag := a.body, a.etag
	if a.gzipped != nil {
		// The CodeMirror bundle is 760 KB, some 260 KB gzipped.
		hd.Add("Vary", "Accept-Encoding")
		if gz := a.gzipped(); gz != nil && acceptsGzip(r) {
			hd.Set("Content-Encoding", "gzip")
			// Another representation, another strong ETag.
			body, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gzip"`
		}
	}
	hd.Set("ETag", etag)
	// No Last-Modified (zero time): the ETag alone revalidates.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// lookup finds the asset of a request path and its cache policy.
func (h *Handler) lookup(p string) (asset, string, bool) {
	if p == "/" || p == "/console" || p == Prefix || p == Prefix+"index.html" {
		return h.page, cacheRevalidate, true
	}
	rel, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		return asset{}, "", false
	}
	cache := cacheRevalidate
	if v, rest, found := strings.Cut(rel, "/"); found && isVersion(v) {
		// A page loaded before an upgrade asks for its own version: it
		// gets the current file, but not for keeps.
		if v == h.version {
			cache = cacheImmutable
		}
		rel = rest
	}
	if rel == "index.html" {
		return asset{}, "", false // the page is only served as the page
	}
	a, ok := h.files[rel]
	return a, cache, ok
}

// isVersion reports whether s has the form of a version: 16 hex digits.
func isVersion(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Interface guard.
var _ http.Handler = (*Handler)(nil)
