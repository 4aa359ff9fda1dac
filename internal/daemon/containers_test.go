package daemon

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/sandbox"
)

// The container sandbox is built beside the process sandbox; where runc
// is unusable, --isolation container falls back to processes, and a
// container Spec fails with ErrNoRuntime (which the instance manager
// turns into "runc is not installed").
func TestNewContainers(t *testing.T) {
	for _, isolation := range []string{config.IsolationProcess, config.IsolationContainer} {
		t.Run(isolation, func(t *testing.T) {
			o := config.Defaults(t.TempDir())
			o.DataDir, o.Isolation = t.TempDir(), isolation
			d := &Daemon{opts: &o, log: slog.New(slog.DiscardHandler)}
			var err error
			if d.sb, err = sandbox.NewProcess(sandbox.ProcessOptions{NetNS: sandbox.NetNSOff}); err != nil {
				t.Fatal(err)
			}
			if err := d.newContainers("t0000000"); err != nil {
				t.Fatal(err)
			}
			if d.run == nil {
				t.Fatal("no sandbox to run instances")
			}
			if d.containers != nil { // runc is usable here
				defer d.containers.Close(context.Background())
				if d.isolation() != isolation {
					t.Errorf("isolation %q; want %q", d.isolation(), isolation)
				}
				return
			}
			if d.isolation() != config.IsolationProcess {
				t.Errorf("isolation %q without runc; want process", d.isolation())
			}
			_, err = d.run.Start(context.Background(), sandbox.Spec{ID: "c-1", Root: &sandbox.RootFS{}})
			if !errors.Is(err, sandbox.ErrNoRuntime) {
				t.Errorf("a container Spec without runc: %v; want ErrNoRuntime", err)
			}
		})
	}
}
