package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/daemon"
)

func newServe(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the openfc server: front door, management API, instances, embedded NATS JetStream",
		Long: `Run the openfc server in this process.

It listens on --listen for HTTP-trigger calls (/2016-08-15/proxy/...) and the
FC 2016-08-15 management API, keeps metadata and code in NATS JetStream
(embedded under --data, or --nats URL), and runs function instances as child
processes, each in its own network namespace where the kernel allows.

The admin AccessKey comes from --access-key-id/--access-key-secret, else
OPENFC_ACCESS_KEY_ID/OPENFC_ACCESS_KEY_SECRET, else credentials.json in the
data dir (created on first start).`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkServeArgs(args); errors.Is(err, pflag.ErrHelp) {
				return cmd.Help()
			} else if err != nil {
				return newUsageError(cmd, err)
			}
			opts, err := config.Load(args, e.getenv)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			d := daemon.New(opts, e.logger(opts.LogLevel), e.getenv)
			return d.Run(cmd.Context())
		},
	}
	// Show the real flags in --help (parsing is config.Load's job).
	defaults := config.Defaults("$HOME")
	cmd.Flags().AddFlagSet(config.FlagSet(&defaults))
	return cmd
}

// checkServeArgs parses serve's command line on its own, to tell a usage
// error (an unknown flag, a malformed value, a stray argument) from an
// option config.Load refuses for what it says.
func checkServeArgs(args []string) error {
	scratch := config.Defaults("")
	fs := config.FlagSet(&scratch)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
