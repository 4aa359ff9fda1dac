package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageInfo is a stored image as its manifest and config describe it.
// It is immutable: infos are cached by manifest digest.
type imageInfo struct {
	digest       string
	manifest     *v1.Manifest
	configDigest string
	// diffIDs are the layers' uncompressed digests, lowest first.
	diffIDs []string
	config  Config
	// size is the bytes stored: manifest, config and layer blobs.
	size int64
}

// blobs lists every blob the image is made of.
func (i *imageInfo) blobs() []string {
	out := []string{i.digest, i.configDigest}
	for _, l := range i.manifest.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

// parseImage checks an image's manifest and config against each other and
// against platform, the node's: an image for another OS or architecture
// is refused, one that names none is taken.
func parseImage(rawManifest, rawConfig []byte, platform v1.Platform) (*imageInfo, error) {
	digest := digestBytes(rawManifest)
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, invalidf("manifest %s: %v", digest, err)
	}
	switch m.MediaType {
	case "", types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, invalidf("manifest %s has media type %s, not an image manifest", digest, m.MediaType)
	}
	if got := digestBytes(rawConfig); got != m.Config.Digest.String() {
		return nil, invalidf("the config of manifest %s has digest %s, not %s", digest, got, m.Config.Digest)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, invalidf("image config %s: %v", m.Config.Digest, err)
	}
	if (cf.OS != "" && cf.OS != platform.OS) || (cf.Architecture != "" && cf.Architecture != platform.Architecture) {
		return nil, invalidf("the image is for %s/%s; this node runs %s/%s", cf.OS, cf.Architecture, platform.OS, platform.Architecture)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, invalidf("manifest %s has %d layers, its config %d diff IDs", digest, len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	info := &imageInfo{digest: digest, manifest: m, configDigest: m.Config.Digest.String(),
		size: int64(len(rawManifest) + len(rawConfig))}
	for i, l := range m.Layers {
		if _, err := parseDigest(l.Digest.String()); err != nil {
			return nil, invalidf("layer %d: %v", i, err)
		}
		if _, err := parseDigest(cf.RootFS.DiffIDs[i].String()); err != nil {
			return nil, invalidf("layer %d: diff ID: %v", i, err)
		}
		if len(l.URLs) > 0 || !l.MediaType.IsDistributable() {
			return nil, invalidf("layer %d (%s) is a foreign layer, which openfc does not fetch", i, l.Digest)
		}
		if l.Size < 0 {
			return nil, invalidf("layer %d has a negative size", i)
		}
		info.diffIDs = append(info.diffIDs, cf.RootFS.DiffIDs[i].String())
		info.size += l.Size
	}
	c := cf.Config
	info.config = Config{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, User: c.User, WorkingDir: c.WorkingDir}
	for p := range c.ExposedPorts {
		info.config.ExposedPorts = append(info.config.ExposedPorts, p)
	}
	sort.Strings(info.config.ExposedPorts)
	return info, nil
}

// maxIndexDepth bounds indexes nested in indexes.
const maxIndexDepth = 4

// resolveManifest follows desc (a manifest, or an index of them) to the
// image manifest for platform, reading blobs with read. It returns the
// raw manifest.
func resolveManifest(ctx context.Context, read func(ctx context.Context, digest string) ([]byte, error), desc v1.Descriptor, platform v1.Platform) ([]byte, error) {
	for depth := 0; ; depth++ {
		raw, err := read(ctx, desc.Digest.String())
		if err != nil {
			return nil, err
		}
		if got := digestBytes(raw); got != desc.Digest.String() {
			return nil, invalidf("blob %s has digest %s", desc.Digest, got)
		}
		if !isIndex(desc.MediaType, raw) {
			return raw, nil
		}
		if depth == maxIndexDepth {
			return nil, invalidf("indexes nested over %d deep", maxIndexDepth)
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, invalidf("index %s: %v", desc.Digest, err)
		}
		next, err := pickManifest(idx, platform)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		desc = next
	}
}

// isIndex tells an index from a manifest by its media type, or by its
// content when the descriptor has none.
func isIndex(mt types.MediaType, raw []byte) bool {
	if mt != "" {
		return mt.IsIndex()
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests []any           `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false
	}
	return probe.MediaType.IsIndex() || probe.Manifests != nil
}

// pickManifest chooses the entry of an index for platform: the first
// whose platform satisfies it, else the only entry that names no
// platform. Attestations (platform unknown/unknown) never match.
func pickManifest(idx *v1.IndexManifest, platform v1.Platform) (v1.Descriptor, error) {
	var unnamed []v1.Descriptor
	var seen []string
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			unnamed = append(unnamed, d)
			continue
		}
		if d.Platform.Satisfies(platform) {
			return d, nil
		}
		seen = append(seen, d.Platform.String())
	}
	if len(unnamed) == 1 && len(seen) == 0 {
		return unnamed[0], nil
	}
	return v1.Descriptor{}, invalidf("no %s image among %d manifests %v", platform.String(), len(idx.Manifests), seen)
}
