// Package cli implements openfc's subcommands. All but serve are thin
// wrappers over the management API through pkg/client.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/pkg/client"
)

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	endpoint  string
	dataDir   string
	accountID string
	asJSON    bool
	// loc is the zone times are printed in (the API's are UTC).
	loc *time.Location
}

// NewRoot returns the openfc command tree.
func NewRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv, loc: zone(getenv)}
	root := &cobra.Command{
		Use:           "openfc",
		Short:         "openfc: a self-hosted serverless platform compatible with Alibaba Cloud Function Compute HTTP triggers",
		SilenceUsage:  true,
		SilenceErrors: true, // main prints the error once
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&e.endpoint, "endpoint", firstSet(getenv("OPENFC_ENDPOINT"), "http://127.0.0.1:8080"), "openfc server URL (env OPENFC_ENDPOINT)")
	pf.StringVar(&e.dataDir, "data", firstSet(getenv("OPENFC_DATA"), filepath.Join(firstSet(getenv("HOME"), os.TempDir()), ".openfc")), "data dir holding the server's generated admin key (env OPENFC_DATA)")
	pf.StringVar(&e.accountID, "account-id", firstSet(getenv("OPENFC_ACCOUNT_ID"), "1234567890123456"), "account id (env OPENFC_ACCOUNT_ID)")
	pf.BoolVar(&e.asJSON, "json", false, "print JSON instead of text (lists: a JSON array; logs: one JSON object a line; invoke: the response body as sent)")
	root.AddCommand(newServe(e), newDeploy(e), newInvoke(e), newFunctions(e), newServices(e), newLogs(e), newInstances(e), newScaling(e), newImages(e), newKeys(e), newTasks(e), newVersions(e), newAliases(e), newDomains(e), newCluster(e))
	enforceUsage(root)
	return root
}

// client builds an API client with the admin key from the environment or
// the data dir.
func (e *env) client() (*client.Client, error) {
	cred, err := auth.LoadAdmin(e.dataDir, e.getenv)
	if err != nil {
		return nil, fmt.Errorf("admin AccessKey: %w (set OPENFC_ACCESS_KEY_ID and OPENFC_ACCESS_KEY_SECRET, or --data to the server's data dir)", err)
	}
	return client.New(e.endpoint, e.accountID, client.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}), nil
}

// zone is the zone the CLI prints times in: the one TZ names, read
// through getenv (in main the process's own TZ, from which Go's
// time.Local comes too; tests pass theirs), else time.Local.
func zone(getenv func(string) string) *time.Location {
	if tz := strings.TrimPrefix(getenv("TZ"), ":"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return time.Local
}

// localTime renders an API timestamp (RFC 3339, in UTC) as RFC 3339 in
// the CLI's zone; a value that does not parse is printed as it came.
func (e *env) localTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.In(e.loc).Format(time.RFC3339)
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l}))
}

func firstSet(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
