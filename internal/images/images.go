// Package images stores OCI container images for custom-container
// functions: pulled from registries or imported from tarballs, kept once
// by digest in JetStream's object store (so every node can get them),
// and unpacked once per node into a local layer cache.
package images

// Image is an image ready to run on this node.
type Image struct {
	// Ref is the reference it was asked for; Digest its manifest digest.
	Ref, Digest string
	// Layers are the unpacked layer directories, lowest first.
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
