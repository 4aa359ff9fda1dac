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

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/pkg/client"
)

// ExitError carries a process exit code up to main.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	endpoint  string
	dataDir   string
	accountID string
	asJSON    bool
}

// NewRoot returns the openfc command tree.
func NewRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
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
	pf.BoolVar(&e.asJSON, "json", false, "print JSON instead of text")
	root.AddCommand(newServe(e), newDeploy(e), newInvoke(e), newFunctions(e), newServices(e), newLogs(e), newInstances(e), newScaling(e))
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
