package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newCluster(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Show the cluster this server is one of"}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show the nodes, the JetStream servers and openfc's streams",
		Long: `Show the cluster as the server at --endpoint sees it: its nodes (live when
heard from within 6 s), the JetStream underneath (embedded or external,
its size, the replicas openfc keeps, the meta leader and servers) and
openfc's streams with their leader and replicas current, lagging and
offline. --json prints the API's answer. Only the admin key may ask.`,
		Example: `  openfc cluster status
  openfc --endpoint http://node2:8080 cluster status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			st, err := c.ClusterStatus(cmd.Context())
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(st)
			}
			return e.printCluster(st)
		},
	})
	return cmd
}

// printCluster prints the status as three tables: nodes, JetStream
// servers, streams.
func (e *env) printCluster(st *client.ClusterStatus) error {
	js := st.JetStream
	servers := "1 server"
	if js.ClusterSize != 1 {
		servers = fmt.Sprintf("%d servers", js.ClusterSize)
	}
	fmt.Fprintf(e.stdout, "node %s; JetStream %s (%s), %d replicas", st.Node, js.Mode, servers, js.Replicas)
	if js.MetaLeader != "" {
		fmt.Fprintf(e.stdout, ", meta leader %s", js.MetaLeader)
	}
	fmt.Fprint(e.stdout, "\n\n")
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tLIVE\tURL\tADMIN\tCLUSTER\tSTARTED\tSEEN\tINSTANCES")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.Name, yesNo(n.Live), n.URL, orDash(n.Admin), orDash(n.Cluster),
			e.localTime(n.Started), e.localTime(n.Seen), n.Instances)
	}
	if len(js.Peers) > 0 { // none for a single server
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "SERVER\tLEADER\tCURRENT\tOFFLINE\tLAG")
		for _, p := range js.Peers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", p.Name, yesNo(p.Leader), yesNo(p.Current), yesNo(p.Offline), p.Lag)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "STREAM\tREPLICAS\tLEADER\tCURRENT\tLAGGING\tOFFLINE\tMESSAGES\tBYTES")
	for _, s := range js.Streams {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\n", s.Name, s.Replicas, orDash(s.Leader), s.Current, s.Lagging, s.Offline, s.Messages, s.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if js.Error != "" {
		fmt.Fprintf(e.stdout, "\nstreams: %s\n", js.Error)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
