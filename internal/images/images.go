// Package images stores OCI container images for custom-container
// functions: pulled from registries or imported from tarballs, kept once
// by digest in JetStream's object store (so every node can get them),
// and unpacked once per node into a local layer cache.
//
// What is stored, in JetStream:
//
//   - the object store bucket "openfc_images" holds blobs named by their
//     digest ("sha256:<hex>"): image manifests (as the registry or the
//     tarball had them; for a `docker save` tarball, an OCI manifest
//     openfc writes), image configs, and layers as they came (compressed
//     or not). A blob shared by two images is stored once.
//   - the KV bucket "openfc_images" holds a Record per image reference
//     (key: the normalised reference in unpadded base64url, as KV keys
//     cannot hold ':' or '@'). A KV bucket rather than object metadata:
//     a record is written and deleted with revision checks, and listing
//     the records does not walk the blobs.
//
// On each node, a layer is unpacked once into CacheDir/layers/<hex>, the
// hex of its uncompressed digest (diff ID): two images sharing a layer,
// compressed alike or not, share the directory. Whiteouts are written as
// overlayfs expects them, so the directories are overlay lower dirs as
// they are.
package images

import (
	"errors"
	"fmt"
	"time"
)

// Image is an image ready to run on this node.
type Image struct {
	// Ref is the reference it was asked for; Digest its manifest digest.
	Ref, Digest string
	// Layers are the unpacked layer directories, lowest first, each once
	// (a layer the image repeats is stacked at its highest place).
	Layers []string
	// Config is what the image says about running it.
	Config Config
}

// Config is the part of an OCI image config a container runs by.
type Config struct {
	Entrypoint, Cmd, Env []string
	User, WorkingDir     string
	// ExposedPorts are the image's EXPOSE ports ("9000/tcp").
	ExposedPorts []string
}

// Auth is a registry's basic credentials (a function's registryConfig).
// A nil *Auth means the operator's docker config (DOCKER_CONFIG, else
// ~/.docker/config.json), else anonymous.
type Auth struct {
	Username, Password string
}

// Source says how an image came to the store.
type Source string

// The sources of a Record.
const (
	// SourceImport: `openfc images import`. Imported images stay until
	// they are removed: nothing else could bring them back.
	SourceImport Source = "import"
	// SourcePull: pulled from its registry by Get. Pulled images are a
	// cache, collected once no function has used them for a while.
	SourcePull Source = "pull"
)

// Record is a stored image reference.
type Record struct {
	// Ref is the normalised reference (Normalize).
	Ref string `json:"ref"`
	// Digest is the manifest's digest.
	Digest string `json:"digest"`
	// Size is the bytes stored for the image: manifest, config and
	// layers as stored (compressed when they came compressed).
	Size int64 `json:"size"`
	// Created is when the reference was imported or pulled (a new import
	// under the same reference renews it).
	Created time.Time `json:"created"`
	Source  Source    `json:"source"`
}

// Errors of the store, wrapped with %w; the API maps them to FC's errors.
var (
	// ErrNotFound: the image is not stored, and its registry does not
	// have it or cannot be reached.
	ErrNotFound = errors.New("image not found")
	// ErrInvalid: a reference, tarball, manifest or layer the store
	// refuses (malformed, for another platform, or with a tar entry that
	// would escape the layer).
	ErrInvalid = errors.New("invalid image")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("image store closed")
)

// kindError is an error of one of the kinds above whose message is its
// own: errors.Is finds the kind, the message does not repeat it.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// invalidf returns an ErrInvalid with a formatted message (%w wraps a
// cause).
func invalidf(format string, args ...any) error {
	return &kindError{kind: ErrInvalid, err: fmt.Errorf(format, args...)}
}

// notFoundf returns an ErrNotFound with a formatted message.
func notFoundf(format string, args ...any) error {
	return &kindError{kind: ErrNotFound, err: fmt.Errorf(format, args...)}
}
