package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

// The exit codes Report returns (main passes them to os.Exit).
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	// exitUsage: the command line itself is wrong (an unknown command or
	// flag, a missing argument), as Go's flag package and getopt-based
	// tools answer it, so scripts can tell a typo from a failure.
	exitUsage = 2
)

// ExitError carries a process exit code up to main for a failure the
// command has already reported.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// usageError is a command line the command tree cannot run. It keeps the
// usage of the command that refused it, to print under the error.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func newUsageError(cmd *cobra.Command, err error) error {
	return &usageError{err: err, usage: cmd.UsageString()}
}

// hintError is an error followed by advice on what to do about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }

// Report prints a command's error for a person on stderr and returns the
// process exit code: 0 for nil; 2 for a usage error, printed with the
// command's usage; 1 otherwise. An API error is printed as FC names it,
// "ErrorCode: message", with its request id on the next line. An
// ExitError was reported by its command: only its code is returned.
func Report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ee ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "openfc: %v\n\n%s", ue.err, ue.usage)
		return exitUsage
	}
	var hint string
	var he *hintError
	if errors.As(err, &he) {
		err, hint = he.err, he.hint
	}
	// Only a bare API error: one wrapped with context ("function s/f:
	// …") keeps that context in its own text.
	if ae, ok := err.(*client.Error); ok {
		fmt.Fprint(stderr, apiErrorText(ae))
	} else {
		fmt.Fprintln(stderr, "openfc:", err)
	}
	if hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	return exitFailure
}

// apiErrorText renders an API or function error as "ErrorCode: message"
// and "RequestId: id" lines. Without an FC error code (a function's own
// error body) the X-Fc-Error-Type stands in, else the HTTP status.
func apiErrorText(e *client.Error) string {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", code, strings.TrimRight(e.Message, " \n")) // a function's output tail may end its message
	if e.RequestID != "" {
		fmt.Fprintf(&b, "RequestId: %s\n", e.RequestID)
	}
	return b.String()
}

// enforceUsage makes every malformed command line a usageError: flag
// errors, wrong argument counts, and unknown subcommands, which cobra
// would otherwise answer with help and status 0 (a command that only
// groups others has no Run of its own).
func enforceUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return newUsageError(c, err) })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.HasSubCommands():
			c.Args = unknownSubcommand
			c.SuggestionsMinimumDistance = 2 // cobra's own default, which SuggestionsFor lacks
			if c.Run == nil && c.RunE == nil {
				c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
			}
		case c.Args != nil:
			check := c.Args
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return newUsageError(c, err)
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownSubcommand is the Args of a command that groups others: any
// argument left is a subcommand it does not have.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return newUsageError(c, errors.New(msg))
}
