package config

import "testing"

// --sync-always is off by default; --async-workers is 16 by default and
// at least 1.
func TestAsyncFlags(t *testing.T) {
	o, err := Load(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.SyncAlways || o.AsyncWorkers != 16 {
		t.Fatalf("defaults: sync-always %v, async-workers %d", o.SyncAlways, o.AsyncWorkers)
	}
	o, err = Load([]string{"--sync-always", "--async-workers", "4"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !o.SyncAlways || o.AsyncWorkers != 4 {
		t.Fatalf("set: sync-always %v, async-workers %d", o.SyncAlways, o.AsyncWorkers)
	}
	if _, err := Load([]string{"--async-workers", "0"}, noEnv); err == nil {
		t.Fatal("--async-workers 0 accepted")
	}
}
