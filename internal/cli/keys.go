package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newKeys(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and delete access keys besides the admin key (invoke-only, limited to services or functions, expiring)",
		Long: `Access keys sign requests like the admin key, with less power. An
invoke-only key signs HTTP-trigger calls (authType function) and
InvokeFunction, never management calls; a key with resources reaches only
those services and functions; an expiring key stops at its expiry. Only the
admin key manages keys. Secrets are shown once, when a key is created.`,
	}
	cmd.AddCommand(newKeysCreate(e), newKeysList(e), newKeysDelete(e))
	return cmd
}

func newKeysCreate(e *env) *cobra.Command {
	var in client.CreateAccessKeyInput
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an access key and print its ID and secret (shown this once)",
		Example: `  openfc keys create --invoke-only --resource shop/checkout --expires 720h --description "checkout frontend"
  openfc keys create --resource shop --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			k, err := c.CreateAccessKey(cmd.Context(), in)
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stdout, "AccessKeyId:     %s\nAccessKeySecret: %s\nScope:           %s\nExpires:         %s\n",
				k.AccessKeyID, k.AccessKeySecret, scopeText(k.Scope), e.expiresText(k.ExpiresTime))
			fmt.Fprintln(e.stderr, "The secret is shown only now: store it safely. `openfc keys delete "+k.AccessKeyID+"` revokes the key.")
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&in.InvokeOnly, "invoke-only", false, "the key signs HTTP-trigger calls and InvokeFunction only, no management calls")
	f.StringArrayVar(&in.Resources, "resource", nil, "a service or service/function the key is limited to (repeat for more; none: every one)")
	f.StringVar(&in.ExpiresIn, "expires", "", "how long the key works, a duration such as 720h or 30m (default: no expiry)")
	f.StringVar(&in.Description, "description", "", "what the key is for")
	return cmd
}

func newKeysList(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the access keys, without secrets (--json: a JSON array); the admin key is not listed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			keys, err := c.ListAccessKeys(cmd.Context())
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(keys)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCESS KEY ID\tSCOPE\tEXPIRES\tCREATED\tDESCRIPTION")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.AccessKeyID, scopeText(k.Scope), e.expiresText(k.ExpiresTime), e.localTime(k.CreatedTime), k.Description)
			}
			return tw.Flush()
		},
	}
}

func newKeysDelete(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ACCESS_KEY_ID...",
		Aliases: []string{"rm"},
		Short:   "Delete access keys: they stop working at once, on every node",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.DeleteAccessKey(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted access key %s\n", id)
			}
			return nil
		},
	}
}

// scopeText renders a key's scope for people: "invoke-only" and/or the
// resources, or "all" (everything but managing keys).
func scopeText(s client.KeyScope) string {
	var parts []string
	if s.InvokeOnly {
		parts = append(parts, "invoke-only")
	}
	if len(s.Resources) > 0 {
		res := make([]string, len(s.Resources))
		for i, r := range s.Resources {
			res[i] = r.String()
		}
		parts = append(parts, strings.Join(res, ","))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

// expiresText is a key's expiry in the CLI's zone, or "never".
func (e *env) expiresText(t string) string {
	if t == "" {
		return "never"
	}
	return e.localTime(t)
}
