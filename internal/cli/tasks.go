package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

// splitQualifiedRef reads "<service>[.<qualifier>]/<function>".
func splitQualifiedRef(ref string) (service, qualifier, function string, err error) {
	s, function, err := splitRef(ref)
	if err != nil {
		return "", "", "", err
	}
	service, qualifier, _ = strings.Cut(s, ".")
	return service, qualifier, function, nil
}

func newTasks(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "tasks", Short: "List, show and stop async tasks (stateful async invocations)"}
	cmd.AddCommand(newTasksList(e), newTasksGet(e), newTasksStop(e))
	return cmd
}

func newTasksList(e *env) *cobra.Command {
	var q client.TaskQuery
	cmd := &cobra.Command{
		Use:   "list <service>[.<qualifier>]/<function>",
		Short: "List a function's tasks, newest page first as the server pages them",
		Long: `List a function's tasks with their status, start and end time, retries
and request id. --status keeps one status (Enqueued, Running, Succeeded,
Failed, Retrying, Stopping, Stopped, Expired, Invalid), --prefix the ids
starting with it; --limit (1–100) and --next-token page. The next page's
token, if any, is printed last. --json prints the API's answer.`,
		Example: `  openfc tasks list demo/video --status Running
  openfc tasks list demo/video --prefix job- --limit 50 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, qualifier, function, err := splitQualifiedRef(args[0])
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			tasks, next, err := c.ListStatefulAsyncInvocations(cmd.Context(), service, qualifier, function, q)
			if err != nil {
				return err
			}
			if e.asJSON {
				if tasks == nil {
					tasks = []client.AsyncTask{}
				}
				return e.printJSON(map[string]any{"invocations": tasks, "nextToken": next})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tSTARTED\tENDED\tRETRIES\tREQUEST")
			for _, t := range tasks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.InvocationID, t.Status, e.msTime(t.StartedTime), e.msTime(t.EndTime),
					t.AlreadyRetriedTimes, t.RequestID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(e.stdout, "next page: --next-token %s\n", next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&q.Status, "status", "", "keep tasks in this status")
	cmd.Flags().StringVar(&q.Prefix, "prefix", "", "keep task ids starting with this")
	cmd.Flags().IntVar(&q.Limit, "limit", 0, "tasks per page, 1 to 100 (default 20)")
	cmd.Flags().StringVar(&q.NextToken, "next-token", "", "the page after a previous list")
	return cmd
}

func newTasksGet(e *env) *cobra.Command {
	return e.taskCommand("get", "Show a task: its status, timeline, error and answer",
		(*client.Client).GetStatefulAsyncInvocation, e.printTask)
}

func newTasksStop(e *env) *cobra.Command {
	return e.taskCommand("stop", "Stop a task: an enqueued one never runs, a running one is cut",
		(*client.Client).StopStatefulAsyncInvocation, func(t *client.AsyncTask) error {
			fmt.Fprintf(e.stdout, "%s: %s\n", t.InvocationID, t.Status)
			return nil
		})
}

// taskCall is a client call on one task.
type taskCall func(c *client.Client, ctx context.Context, service, qualifier, function, id string) (*client.AsyncTask, error)

// taskCommand is `tasks <verb> <service>[.<qualifier>]/<function> <id>`:
// call, then the task as JSON (--json) or through show.
func (e *env) taskCommand(verb, short string, call taskCall, show func(*client.AsyncTask) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " <service>[.<qualifier>]/<function> <id>",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, qualifier, function, err := splitQualifiedRef(args[0])
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			t, err := call(c, cmd.Context(), service, qualifier, function, args[1])
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(t)
			}
			return show(t)
		},
	}
}

// printTask prints a task as "key: value" lines, then its timeline.
func (e *env) printTask(t *client.AsyncTask) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("id", t.InvocationID)
	row("function", t.ServiceName+"."+t.Qualifier+"/"+t.FunctionName)
	row("status", t.Status)
	row("request", t.RequestID)
	row("started", e.msTime(t.StartedTime))
	row("ended", e.msTime(t.EndTime))
	row("retries", fmt.Sprint(t.AlreadyRetriedTimes))
	row("instance", t.InstanceID)
	row("duration", (time.Duration(t.DurationMs) * time.Millisecond).String())
	row("destination", t.DestinationStatus)
	row("error", t.InvocationErrorMessage)
	row("answer", t.ReturnPayload)
	for _, ev := range t.Events {
		fmt.Fprintf(tw, "event %d:\t%s %s %s\n", ev.EventID, e.msTime(ev.Timestamp), ev.Status, ev.EventDetail)
	}
	return tw.Flush()
}

// msTime renders milliseconds since the epoch in the local zone; "-" for
// 0 (not yet).
func (e *env) msTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).In(e.loc).Format(time.RFC3339)
}
