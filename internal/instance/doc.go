// Package instance manages function instances: one pool per function
// version, slots bounded by instanceConcurrency, cold starts that buffer the
// requests waiting for them, readiness checks on the CAPort, crash
// detection, and retirement of pools whose configuration changed.
//
// Locking: Manager.mu guards the pool map and the host index; each pool has
// its own mu. Lock order is Manager.mu before pool.mu; never the reverse.
package instance
