package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

func newServices(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "services", Short: "List and delete services"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List services (--json: a JSON array of the API's objects)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			svcs, err := listAll[fc.Service](cmd, c, "/services", "services")
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(svcs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION\tMODIFIED")
			for _, s := range svcs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ServiceName, s.Description, e.localTime(s.LastModifiedTime))
			}
			return tw.Flush()
		},
	}, newServiceDelete(e))
	return cmd
}

func newServiceDelete(e *env) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "delete <service>",
		Short: "Delete a service; --recursive also deletes its functions and their triggers",
		Long: `Delete a service. As in FC, a service that still has functions is refused
(ServiceNotEmpty) and nothing is deleted. With --recursive, every function's
triggers are deleted, then the functions, then the service.`,
		Example: `  openfc services delete demo
  openfc services delete demo --recursive`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			c, err := e.client()
			if err != nil {
				return err
			}
			if recursive {
				err = c.DeleteServiceRecursive(cmd.Context(), name)
			} else {
				err = c.DeleteService(cmd.Context(), name)
			}
			if client.HasCode(err, "ServiceNotEmpty") {
				return &hintError{err: err, hint: fmt.Sprintf("hint: 'openfc services delete %s --recursive' deletes its functions and their triggers first", name)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted service %s\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "delete the service's triggers and functions first")
	return cmd
}
