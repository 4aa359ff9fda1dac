// Package store keeps openfc's metadata (services, functions, HTTP triggers,
// scaling configs, access keys with their secrets sealed) and code
// packages. The implementation is NATS JetStream:
// KV buckets for metadata and an object store for code zips, either on the
// embedded server or on an external cluster shared by several openfc nodes.
//
// The package exports the concrete *JetStream; its consumers declare the
// few methods they use (api.Store, gateway.Catalog, instance.Scaling, the
// daemon's code cache).
package store
