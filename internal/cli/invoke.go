package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

func newInvoke(e *env) *cobra.Command {
	var event, eventFile, qualifier string
	var async asyncFlags
	cmd := &cobra.Command{
		Use:   "invoke <service>/<function>",
		Short: "Invoke a function synchronously (InvokeFunction: POST /invoke to the instance) and print its answer",
		Long: `Invoke a function synchronously (InvokeFunction: the event is POSTed to
the instance's /invoke) and print its answer on stdout.

A failed invocation, whether the platform refused it (FunctionNotFound,
ResourceThrottled, …) or the function failed (X-Fc-Error-Type:
UnhandledInvocationError, such as FunctionNotStarted or FunctionTimeout),
prints "ErrorCode: message" and "RequestId: id" on stderr and exits 1.
With --json the error's response body is printed on stdout as it came.

--async invokes asynchronously: openfc persists the event and answers at
once (202) before the function runs; the request id is printed (and the
task id with --task-id, or when the function's async config makes every
async invocation a task). --delay (0–3600 seconds) runs it later.`,
		Example: `  openfc invoke demo/hello -e '{"key":"value"}'
  openfc invoke demo/hello --event-file event.json --json
  openfc invoke demo/video --async --task-id video-42 -e '{"file":"a.mp4"}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, function, err := splitRef(args[0])
			if err != nil {
				return err
			}
			body := []byte(event)
			if eventFile != "" {
				if body, err = os.ReadFile(eventFile); err != nil {
					return fmt.Errorf("reading event: %w", err)
				}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			if async.on || async.taskID != "" {
				return e.invokeAsync(cmd, c, service, qualifier, function, body, async)
			}
			resp, err := c.InvokeFunction(cmd.Context(), service, qualifier, function, body, nil)
			if err != nil {
				return e.invokeFailed(err)
			}
			defer resp.Body.Close()
			if resp.Header.Get(fc.HeaderErrorType) != "" || resp.StatusCode >= 400 {
				return e.invokeFailed(client.ResponseError(resp))
			}
			if _, err := io.Copy(e.stdout, resp.Body); err != nil {
				return fmt.Errorf("reading answer: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&event, "event", "e", "", "event payload")
	cmd.Flags().StringVar(&eventFile, "event-file", "", "read the event payload from a file")
	cmd.Flags().StringVarP(&qualifier, "qualifier", "q", "", "version or alias (default LATEST)")
	cmd.Flags().BoolVar(&async.on, "async", false, "invoke asynchronously: print the request id once the event is queued")
	cmd.Flags().StringVar(&async.taskID, "task-id", "", "with --async: make it a task with this id (implies --async)")
	cmd.Flags().IntVar(&async.delay, "delay", 0, "with --async: run it this many seconds later (0 to 3600)")
	return cmd
}

// asyncFlags are invoke's async options.
type asyncFlags struct {
	on     bool
	taskID string
	delay  int
}

// invokeAsync queues an async invocation and prints its ids (JSON with
// --json).
func (e *env) invokeAsync(cmd *cobra.Command, c *client.Client, service, qualifier, function string, body []byte, f asyncFlags) error {
	acc, err := c.InvokeFunctionAsync(cmd.Context(), service, qualifier, function, body,
		client.AsyncOptions{TaskID: f.taskID, Delay: time.Duration(f.delay) * time.Second})
	if err != nil {
		return e.invokeFailed(err)
	}
	if e.asJSON {
		return e.printJSON(map[string]string{"requestId": acc.RequestID, "taskId": acc.TaskID})
	}
	fmt.Fprintf(e.stdout, "accepted: request %s\n", acc.RequestID)
	if acc.TaskID != "" {
		fmt.Fprintf(e.stdout, "task: %s (openfc tasks get %s/%s %s)\n", acc.TaskID, service, function, acc.TaskID)
	}
	return nil
}

// invokeFailed reports a failed invocation: an API or function error is
// returned for Report to print as FC names it or, with --json, its body
// is printed on stdout as it came (FC's error JSON built from the error
// when the body was empty). Other errors (the server unreachable) are
// returned as they are.
func (e *env) invokeFailed(err error) error {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return err
	}
	if !e.asJSON {
		return ae
	}
	body := ae.Body
	if len(body) == 0 {
		body, _ = json.Marshal(fc.ErrorBody{ErrorCode: ae.Code, ErrorMessage: ae.Message, RequestID: ae.RequestID})
	}
	if _, werr := e.stdout.Write(body); werr != nil {
		return werr
	}
	return ExitError{Code: exitFailure}
}
