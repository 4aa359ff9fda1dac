package images

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// dockerHub is how go-containerregistry names Docker Hub, and how openfc
// prints it, as Docker does.
const (
	dockerHubName  = name.DefaultRegistry // "index.docker.io"
	dockerHubShown = "docker.io"
)

// Normalize returns the canonical form of an image reference, as Docker
// normalises it: "busybox" and "busybox:latest" are
// "docker.io/library/busybox:latest"; "host:5000/x" is
// "host:5000/x:latest"; a digest reference keeps its digest
// ("name@sha256:…"). Records are keyed by it, and callers that compare
// references (the functions using an image) compare normalised ones.
func Normalize(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return refString(r), nil
}

// parseRef parses ref; an empty or malformed reference is ErrInvalid.
func parseRef(ref string) (name.Reference, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, invalidf("the image reference is empty")
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, invalidf("image reference %q: %v", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		if _, err := parseDigest(d.DigestStr()); err != nil {
			return nil, invalidf("image reference %q: %v", ref, err)
		}
	}
	return r, nil
}

// refString renders a parsed reference in the canonical form.
func refString(r name.Reference) string {
	s := r.Name()
	if rest, ok := strings.CutPrefix(s, dockerHubName+"/"); ok {
		s = dockerHubShown + "/" + rest
	}
	return s
}

// parseDigest parses a "sha256:<64 hex>" digest, the only algorithm the
// store names blobs and layer directories by.
func parseDigest(s string) (v1.Hash, error) {
	h, err := v1.NewHash(s)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest %q: %v", s, err)
	}
	if h.Algorithm != "sha256" {
		return v1.Hash{}, fmt.Errorf("digest %q: only sha256 digests are supported", s)
	}
	return h, nil
}

// recordKey is the KV key of a normalised reference: KV keys cannot hold
// the ':' and '@' of references.
func recordKey(ref string) string { return base64.RawURLEncoding.EncodeToString([]byte(ref)) }
