package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

// splitRef splits "service/function".
func splitRef(ref string) (service, function string, err error) {
	s, f, ok := strings.Cut(ref, "/")
	if !ok || s == "" || f == "" || strings.Contains(f, "/") {
		return "", "", fmt.Errorf("%q: name a function as <service>/<function>", ref)
	}
	return s, f, nil
}

func functionPath(service, function string) string {
	return "/services/" + url.PathEscape(service) + "/functions/" + url.PathEscape(function)
}

func newFunctions(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "functions", Short: "List, show and delete functions, download their code"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list <service>",
		Short: "List a service's functions (--json: a JSON array of the API's objects)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			fns, err := listAll[fc.Function](cmd, c, "/services/"+url.PathEscape(args[0])+"/functions", "functions")
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(fns)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRUNTIME\tMEMORY\tTIMEOUT\tCONCURRENCY\tMODIFIED")
			for _, f := range fns {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", f.FunctionName, f.Runtime, f.MemorySize, f.Timeout, f.InstanceConcurrency, e.localTime(f.LastModifiedTime))
			}
			return tw.Flush()
		},
	}, e.functionCommand("get", "Show a function's configuration and HTTP triggers",
		func(cmd *cobra.Command, c *client.Client, service, function string) error {
			var fn fc.Function
			if _, err := c.Do(cmd.Context(), http.MethodGet, functionPath(service, function), nil, nil, &fn); err != nil {
				return err
			}
			trigs, err := listAll[fc.Trigger](cmd, c, functionPath(service, function)+"/triggers", "triggers")
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(map[string]any{"function": fn, "triggers": trigs})
			}
			code := fmt.Sprintf("codeChecksum: %s (%d bytes)", fn.CodeChecksum, fn.CodeSize)
			if fn.IsContainer() {
				code = "image: " + imageOf(&fn)
			}
			runtime := fn.Runtime
			if fn.HandlerStyle != "" {
				// A built-in runtime: the handler, and how it is called.
				runtime += fmt.Sprintf("\n  handler: %s (%s style)", fn.Handler, fn.HandlerStyle)
			}
			fmt.Fprintf(e.stdout, "%s/%s\n  runtime: %s\n  memorySize: %d MB\n  timeout: %d s\n  instanceConcurrency: %d\n  port: %d\n  %s\n  modified: %s\n",
				service, fn.FunctionName, runtime, fn.MemorySize, fn.Timeout, fn.InstanceConcurrency, fn.Port(), code, e.localTime(fn.LastModifiedTime))
			for _, t := range trigs {
				fmt.Fprintf(e.stdout, "  trigger %s: %s %s %v %s\n", t.TriggerName, t.TriggerType, t.TriggerConfig.AuthType, t.TriggerConfig.Methods, t.URLInternet)
			}
			return nil
		}), e.functionCommand("delete", "Delete a function and its triggers",
		func(cmd *cobra.Command, c *client.Client, service, function string) error {
			if err := c.DeleteFunctionRecursive(cmd.Context(), service, function); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted %s/%s\n", service, function)
			return nil
		}), e.newFunctionCode())
	return cmd
}

// functionCommand builds a subcommand that takes one <service>/<function>
// argument and an API client.
func (e *env) functionCommand(verb, short string, run func(cmd *cobra.Command, c *client.Client, service, function string) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " <service>/<function>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, function, err := splitRef(args[0])
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			return run(cmd, c, service, function)
		},
	}
}
