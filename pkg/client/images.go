package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Image is a container image stored on an openfc server (the images API,
// an openfc extension to FC's API).
type Image struct {
	// Ref is the normalised reference ("docker.io/library/app:v1").
	Ref string `json:"ref"`
	// Digest is the image manifest's digest.
	Digest string `json:"digest"`
	// Size is the bytes stored: manifest, config and layers as stored.
	Size        int64  `json:"size"`
	CreatedTime string `json:"createdTime"`
	// Source is "import" or "pull".
	Source string `json:"source"`
}

// imagesBody is the body of every images response.
type imagesBody struct {
	Images    []Image `json:"images"`
	NextToken string  `json:"nextToken"`
}

// ImportImage streams a `docker save` tarball or an OCI image archive to
// the server (POST /images) and returns the images it stored. size is the
// tarball's length, or -1 when unknown (the body is then sent chunked).
// ref names the image; empty means the names the tarball gives. r is read
// to its end or the first error; the caller closes it.
func (c *Client) ImportImage(ctx context.Context, r io.Reader, size int64, ref string) ([]Image, error) {
	var q url.Values
	if ref != "" {
		q = url.Values{"ref": {ref}}
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/images", q, nil, "", http.Header{"Content-Type": {"application/x-tar"}})
	if err != nil {
		return nil, err
	}
	// Set after signing, which does not read it: the body is streamed.
	req.Body, req.ContentLength = io.NopCloser(r), size
	if size == 0 {
		req.Body = http.NoBody
	}
	var out imagesBody
	if err := c.send(req, &out); err != nil {
		return nil, err
	}
	return out.Images, nil
}

// ListImages returns every stored image, following the pages.
func (c *Client) ListImages(ctx context.Context) ([]Image, error) {
	all := []Image{}
	token := ""
	for {
		q := url.Values{"limit": {"100"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var page imagesBody
		if _, err := c.Do(ctx, http.MethodGet, "/images", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Images...)
		if token = page.NextToken; token == "" {
			return all, nil
		}
	}
}

// DeleteImage removes an image reference, or every reference to a digest
// ("sha256:…"), and returns what it removed. An image that functions use
// is refused (ImageInUse) unless force is set.
func (c *Client) DeleteImage(ctx context.Context, ref string, force bool) ([]Image, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var out imagesBody
	if _, err := c.Do(ctx, http.MethodDelete, apiPath("images")+imageRefPath(ref), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Images, nil
}

// imageRefPath escapes a reference's '/'-separated parts for a URL path.
func imageRefPath(ref string) string {
	parts := strings.Split(ref, "/")
	return apiPath(parts...)
}

// send sends a built request and decodes a 2xx JSON body into out.
func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("fc: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("fc: %s %s: decode response: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
