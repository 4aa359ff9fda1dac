// Command openfc is a self-hosted, Function Compute compatible serverless
// platform: `openfc serve` runs it, the other subcommands drive its API.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/openfc/openfc/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := cli.NewRoot(os.Stdout, os.Stderr, os.Getenv).ExecuteContext(ctx)
	stop()
	// cli.Report decides the code: 2 for a usage error, 1 for a failure.
	if code := cli.Report(os.Stderr, err); code != 0 {
		os.Exit(code)
	}
}
