package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

// logTimeFormat is how `openfc logs` prints a record's time: RFC 3339 in
// the local zone, to the millisecond so that lines of one second keep
// their order visibly.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func newLogs(e *env) *cobra.Command {
	var (
		q     client.LogsQuery
		since string
	)
	cmd := &cobra.Command{
		Use:   "logs <service>/<function>",
		Short: "Print a function's recent instance output (kept by the cluster), optionally following it",
		Long: "Print a function's recent instance output, one line per record:\n" +
			"  <time> <instance> <request id or -> <message>\n" +
			"with the time in RFC 3339 in the local zone (TZ), or the records as JSON\n" +
			"lines (times in UTC, as the API gives them, with the node that served\n" +
			"the request) with --json. Any node answers for the whole cluster, also\n" +
			"after restarts. --follow keeps printing new records until Ctrl-C.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, function, err := splitRef(args[0])
			if err != nil {
				return err
			}
			if q.Tail < 0 {
				return fmt.Errorf("--tail %d: use 0 (all) or more", q.Tail)
			}
			if since != "" {
				if q.Since, err = parseSince(since, time.Now()); err != nil {
					return err
				}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := c.Logs(ctx, service, function, q)
			if err != nil {
				return err
			}
			defer st.Close()
			for {
				rec, err := st.Next()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					if ctx.Err() != nil {
						return nil // interrupted: the normal end of --follow
					}
					return err
				}
				if err := e.printLogRecord(rec); err != nil {
					return err
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.RequestID, "request-id", "", "only the records of this invocation")
	f.StringVar(&q.InstanceID, "instance", "", "only the records of this instance")
	f.IntVar(&q.Tail, "tail", 0, "only the last N records (0: all the server keeps)")
	f.StringVar(&since, "since", "", "only records newer than a duration ago (10m) or an RFC 3339 time")
	f.BoolVarP(&q.Follow, "follow", "f", false, "keep printing new records until interrupted")
	f.StringVarP(&q.Qualifier, "qualifier", "q", "", "version or alias (default LATEST)")
	return cmd
}

// parseSince reads --since: a positive duration before now, or an RFC 3339
// time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--since %q: use a positive duration such as 10m", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: use a duration such as 10m or an RFC 3339 time such as 2006-01-02T15:04:05Z", s)
	}
	return t, nil
}

// printLogRecord prints one record as text or as a JSON line.
func (e *env) printLogRecord(r client.LogRecord) error {
	if e.asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encoding record: %w", err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "%s %s %s %s\n", r.Time.In(e.loc).Format(logTimeFormat), orDash(r.InstanceID), orDash(r.RequestID), r.Message)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
