package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newInstances(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "instances [<service>/<function>]",
		Short: "List the running instances of a function, or of every function",
		Long: `List running instances (the server's instance manager) with their state,
own IP address ("-" where instances share the host network), start time
(RFC 3339, local zone), requests in flight, requests served, restarts of the
function before them and whether they are provisioned.
Without an argument every function of every service is listed. --json
prints the API's objects as a JSON array (times in UTC).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			var refs [][2]string
			if len(args) == 1 {
				service, function, err := splitRef(args[0])
				if err != nil {
					return err
				}
				refs = append(refs, [2]string{service, function})
			} else if refs, err = allFunctions(cmd, c); err != nil {
				return err
			}
			all := []client.Instance{}
			for _, ref := range refs {
				list, err := c.ListInstances(cmd.Context(), ref[0], "", ref[1])
				if err != nil {
					return err
				}
				for _, in := range list {
					// Older servers may leave the names out.
					if in.ServiceName == "" {
						in.ServiceName, in.FunctionName = ref[0], ref[1]
					}
					all = append(all, in)
				}
			}
			if e.asJSON {
				return e.printJSON(all)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INSTANCE\tFUNCTION\tSTATE\tADDRESS\tSTARTED\tINFLIGHT\tSERVED\tRESTARTS\tPROVISIONED")
			for _, in := range all {
				addr := in.Address
				if addr == "" {
					addr = "-" // the host network: the instance has no address of its own
				}
				fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%d\t%d\t%d\t%t\n", in.InstanceID, in.ServiceName, in.FunctionName,
					in.State, addr, e.localTime(in.StartedTime), in.InFlight, in.RequestsServed, in.Restarts, in.Provisioned)
			}
			return tw.Flush()
		},
	}
}

// allFunctions lists every service's functions through the API, as
// {service, function} pairs sorted by service then function.
func allFunctions(cmd *cobra.Command, c *client.Client) ([][2]string, error) {
	svcs, err := listAll[client.Service](cmd, c, "/services", "services")
	if err != nil {
		return nil, err
	}
	var refs [][2]string
	for _, s := range svcs {
		fns, err := listAll[client.Function](cmd, c, "/services/"+url.PathEscape(s.ServiceName)+"/functions", "functions")
		if err != nil {
			return nil, err
		}
		for _, f := range fns {
			refs = append(refs, [2]string{s.ServiceName, f.FunctionName})
		}
	}
	return refs, nil
}

// scalingState is what `scaling get` reports; OnDemand is nil when the
// function has no on-demand cap.
type scalingState struct {
	Function  string                  `json:"function"`
	OnDemand  *client.OnDemandConfig  `json:"onDemandConfig"`
	Provision *client.ProvisionConfig `json:"provisionConfig"`
}

func readScaling(ctx context.Context, c *client.Client, service, function string) (*scalingState, error) {
	st := &scalingState{Function: service + "/" + function}
	od, err := c.GetOnDemandConfig(ctx, service, "", function)
	switch {
	case err == nil:
		st.OnDemand = od
	case !client.HasCode(err, "OnDemandConfigNotFound"):
		return nil, err
	}
	if st.Provision, err = c.GetProvisionConfig(ctx, service, "", function); err != nil {
		return nil, err
	}
	return st, nil
}

func (e *env) printScaling(st *scalingState) error {
	if e.asJSON {
		return e.printJSON(st)
	}
	limit := "unlimited (no on-demand config)"
	if st.OnDemand != nil {
		limit = strconv.Itoa(st.OnDemand.MaximumInstanceCount)
		if st.OnDemand.MaximumInstanceCount == 0 {
			limit += " (only provisioned instances serve)"
		}
	}
	fmt.Fprintf(e.stdout, "%s\n  on-demand max instances: %s\n  provisioned instances: target %d, current %d\n",
		st.Function, limit, st.Provision.Target, st.Provision.Current)
	return nil
}

func newScaling(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scaling",
		Short: "Show and set a function's on-demand instance cap and provisioned instances",
		Long: `A function's scaling has two settings (FC's on-demand-config and
provision-config of its LATEST version):

  --max N        at most N on-demand instances (0: none, only provisioned
                 instances serve; -1: remove the cap)
  --provision N  keep N instances started and warm (0: none)`,
		Example: `  openfc scaling get svc/fn
  openfc scaling set svc/fn --max 10 --provision 2
  openfc scaling set svc/fn --max -1 --provision 0`,
	}
	cmd.AddCommand(e.functionCommand("get", "Show a function's on-demand cap and provision target",
		func(cmd *cobra.Command, c *client.Client, service, function string) error {
			st, err := readScaling(cmd.Context(), c, service, function)
			if err != nil {
				return err
			}
			return e.printScaling(st)
		}))

	var maxN, provision int
	set := e.functionCommand("set", "Set a function's on-demand cap (--max) and/or provision target (--provision)",
		func(cmd *cobra.Command, c *client.Client, service, function string) error {
			ctx := cmd.Context()
			if cmd.Flags().Changed("max") {
				var err error
				if maxN == -1 {
					err = c.DeleteOnDemandConfig(ctx, service, "", function)
					if client.HasCode(err, "OnDemandConfigNotFound") {
						err = nil
					}
				} else {
					_, err = c.PutOnDemandConfig(ctx, service, "", function, maxN)
				}
				if err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("provision") {
				if _, err := c.PutProvisionConfig(ctx, service, "", function, provision); err != nil {
					return err
				}
			}
			st, err := readScaling(ctx, c, service, function)
			if err != nil {
				return err
			}
			return e.printScaling(st)
		})
	set.Flags().IntVar(&maxN, "max", 0, "maximum on-demand instances (0: none, -1: no cap)")
	set.Flags().IntVar(&provision, "provision", 0, "provisioned instances to keep warm (0: none)")
	set.PreRunE = func(cmd *cobra.Command, _ []string) error {
		f := cmd.Flags()
		switch {
		case !f.Changed("max") && !f.Changed("provision"):
			return errors.New("nothing to set: give --max and/or --provision")
		case f.Changed("max") && maxN < -1:
			return fmt.Errorf("--max %d: use -1 (no cap), 0 or more", maxN)
		case f.Changed("provision") && provision < 0:
			return fmt.Errorf("--provision %d: use 0 or more", provision)
		}
		return nil
	}
	cmd.AddCommand(set)
	return cmd
}
