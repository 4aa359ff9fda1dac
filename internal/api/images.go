package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/images"
)

// The images endpoints are an openfc extension (FC pulls custom-container
// images from Alibaba's registry; openfc keeps its own):
//
//	POST   /2016-08-15/images[?ref=name:tag]  import the tarball streamed as the body
//	GET    /2016-08-15/images                 list (limit, nextToken, prefix)
//	DELETE /2016-08-15/images/{ref…}[?force=true]
//
// A DELETE of an image that functions use is refused (409 ImageInUse,
// naming them): their next cold start would pull it again from its
// registry, or fail for an imported one. force=true removes it all the
// same; running instances keep their layers until they stop.

// Images is the image store (images.Store).
type Images interface {
	// Import stores the images of a `docker save` or OCI tarball.
	Import(ctx context.Context, r io.Reader, o images.ImportOptions) ([]images.Record, error)
	// List returns every stored image reference, sorted.
	List(ctx context.Context) ([]images.Record, error)
	// Remove deletes a reference, or every reference to a digest.
	Remove(ctx context.Context, ref string) ([]images.Record, error)
}

// DefaultMaxImageBytes bounds an image import's body when
// Options.MaxImageBytes is 0.
const DefaultMaxImageBytes = 10 << 30

// imageView is an image in the API's JSON.
type imageView struct {
	Ref         string `json:"ref"`
	Digest      string `json:"digest"`
	Size        int64  `json:"size"`
	CreatedTime string `json:"createdTime"`
	// Source is "import" or "pull".
	Source string `json:"source"`
}

func viewImages(recs []images.Record) []imageView {
	out := make([]imageView, len(recs))
	for i, r := range recs {
		out[i] = imageView{Ref: r.Ref, Digest: r.Digest, Size: r.Size, CreatedTime: fc.Timestamp(r.Created), Source: string(r.Source)}
	}
	return out
}

func (a *API) imageRoutes(h func(pattern string, fn handlerFunc)) {
	h("POST "+v+"/images", a.importImage)
	h("GET "+v+"/images", a.listImages)
	h("DELETE "+v+"/images/{ref...}", a.deleteImage)
}

// imageStore returns the image store, or why there is none.
func (a *API) imageStore() (Images, error) {
	if a.opts.Images == nil {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "images are not available on this server")
	}
	return a.opts.Images, nil
}

func (a *API) importImage(r *http.Request, reqID string) (int, any, http.Header, error) {
	st, err := a.imageStore()
	if err != nil {
		return 0, nil, nil, err
	}
	limit := a.opts.MaxImageBytes
	if limit <= 0 {
		limit = DefaultMaxImageBytes
	}
	if r.ContentLength > limit {
		return 0, nil, nil, imageTooLarge(limit)
	}
	body := &maxBytesReader{r: r.Body, left: limit}
	recs, err := st.Import(r.Context(), body, images.ImportOptions{Ref: r.URL.Query().Get("ref")})
	if body.over {
		return 0, nil, nil, imageTooLarge(limit)
	}
	if err != nil {
		return 0, nil, nil, imageErr(err)
	}
	a.log.Info("imported images", "request_id", reqID, "refs", len(recs))
	return http.StatusOK, map[string]any{"images": viewImages(recs)}, nil, nil
}

func imageTooLarge(limit int64) error {
	return fc.Errorf(fc.CodeEntityTooLarge, "the image tarball is over the server's limit of %d bytes", limit)
}

// maxBytesReader reads at most left bytes and says when the body had
// more (net/http's MaxBytesReader would close the connection too early
// for the error to be read).
type maxBytesReader struct {
	r    io.Reader
	left int64
	over bool
}

var errImageTooLarge = errors.New("image tarball too large")

func (m *maxBytesReader) Read(p []byte) (int, error) {
	if m.left <= 0 {
		// One byte more tells a body that ends at the limit from one
		// that goes on.
		var b [1]byte
		if n, _ := m.r.Read(b[:]); n > 0 {
			m.over = true
			return 0, errImageTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	return n, err
}

func (a *API) listImages(r *http.Request, _ string) (int, any, http.Header, error) {
	st, err := a.imageStore()
	if err != nil {
		return 0, nil, nil, err
	}
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	recs, err := st.List(r.Context())
	if err != nil {
		return 0, nil, nil, imageErr(err)
	}
	items, next := paginate(p, viewImages(recs), func(i imageView) string { return i.Ref })
	body := map[string]any{"images": items}
	if next != "" {
		body["nextToken"] = next
	}
	return http.StatusOK, body, nil, nil
}

func (a *API) deleteImage(r *http.Request, _ string) (int, any, http.Header, error) {
	st, err := a.imageStore()
	if err != nil {
		return 0, nil, nil, err
	}
	ref := r.PathValue("ref")
	force := false
	if s := r.URL.Query().Get("force"); s != "" {
		if force, err = strconv.ParseBool(s); err != nil {
			return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "force %q is invalid: use true or false", s)
		}
	}
	if !force {
		if err := a.imageUnused(r.Context(), st, ref); err != nil {
			return 0, nil, nil, err
		}
	}
	recs, err := st.Remove(r.Context(), ref)
	if err != nil {
		return 0, nil, nil, imageErr(err)
	}
	return http.StatusOK, map[string]any{"images": viewImages(recs)}, nil, nil
}

// imageUnused refuses the removal of a stored image that functions use:
// ref, or every reference to it when ref is a digest. An image that is
// not stored is left to Remove's 404.
func (a *API) imageUnused(ctx context.Context, st Images, ref string) error {
	if a.opts.ImageUsers == nil {
		return nil
	}
	match := func(r images.Record) bool { return r.Digest == ref }
	if !strings.HasPrefix(ref, "sha256:") {
		norm, err := images.Normalize(ref)
		if err != nil {
			return imageErr(err)
		}
		match = func(r images.Record) bool { return r.Ref == norm }
	}
	recs, err := st.List(ctx)
	if err != nil {
		return imageErr(err)
	}
	for _, r := range recs {
		if !match(r) {
			continue
		}
		if users := a.opts.ImageUsers(r.Ref); len(users) > 0 {
			return fc.Errorf(fc.CodeImageInUse, "image %s is used by %s: update or delete them first, or remove it with force=true", r.Ref, strings.Join(users, ", "))
		}
	}
	return nil
}

// imageErr turns an image store error into FC's error.
func imageErr(err error) error {
	switch {
	case errors.Is(err, images.ErrNotFound):
		return fc.Errorf(fc.CodeImageNotFound, "%v", err)
	case errors.Is(err, images.ErrInvalid):
		return fc.Errorf(fc.CodeInvalidArgument, "%v", err)
	case errors.Is(err, images.ErrClosed):
		return fc.Errorf(fc.CodeServiceUnavailable, "the server is shutting down")
	}
	return err
}
