package cli

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newVersions(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "Publish, list and delete a service's versions (immutable snapshots of its functions)",
		Long: `A version is an immutable snapshot of every function of a service (its
configuration and code) taken when it is published; LATEST stays the mutable
head. Versions are numbered 1, 2, … per service; a deleted version's number
is not reused. Call one as SERVICE.VERSION (the proxy form, InvokeFunction) or
through an alias (openfc aliases).`,
	}
	cmd.AddCommand(newVersionsPublish(e), newVersionsList(e), newVersionsDelete(e))
	return cmd
}

func newVersionsPublish(e *env) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     "publish SERVICE",
		Short:   "Publish the service's functions as they are now as a new version",
		Example: `  openfc versions publish shop --description "release 42"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			v, err := c.PublishVersion(cmd.Context(), args[0], description)
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(v)
			}
			fmt.Fprintf(e.stdout, "published version %s of service %s\n", v.VersionID, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the version is")
	return cmd
}

func newVersionsList(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list SERVICE",
		Short: "List the service's versions, newest first (--json: a JSON array)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			all := []client.Version{}
			for token := ""; ; {
				vs, next, err := c.ListVersions(cmd.Context(), args[0], client.VersionListOptions{Limit: 100, NextToken: token})
				if err != nil {
					return err
				}
				all = append(all, vs...)
				if token = next; token == "" {
					break
				}
			}
			if e.asJSON {
				return e.printJSON(all)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCREATED\tDESCRIPTION")
			for _, v := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.VersionID, e.localTime(v.CreatedTime), v.Description)
			}
			return tw.Flush()
		},
	}
}

func newVersionsDelete(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete SERVICE VERSION...",
		Aliases: []string{"rm"},
		Short:   "Delete versions (refused while an alias points to one)",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			for _, id := range args[1:] {
				if err := c.DeleteVersion(cmd.Context(), args[0], id); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted version %s of service %s\n", id, args[0])
			}
			return nil
		},
	}
}

func newAliases(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aliases",
		Short: "Create, show, list, move and delete a service's aliases (a name for a version, with an optional weighted canary)",
		Long: `An alias names a version of a service, so that callers need not change
when a new version is released: move the alias instead. --weight VERSION=W
sends the share W (0 to 1) of the requests to another version, the rest to
the alias's own: a canary. Each request picks by weight; the instance sees
the alias in x-fc-qualifier and the version in x-fc-version-id, the caller
gets the version in X-Fc-Invocation-Service-Version.`,
	}
	cmd.AddCommand(newAliasesCreate(e), newAliasesGet(e), newAliasesList(e), newAliasesUpdate(e), newAliasesDelete(e))
	return cmd
}

// parseWeights reads --weight VERSION=W flags.
func parseWeights(flags []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, f := range flags {
		v, w, ok := strings.Cut(f, "=")
		n, err := strconv.ParseFloat(w, 64)
		if !ok || v == "" || err != nil {
			return nil, fmt.Errorf("--weight %q: use VERSION=WEIGHT, e.g. 2=0.1", f)
		}
		out[v] = n
	}
	return out, nil
}

// weightsText renders an alias's additional versions as "2=0.3".
func weightsText(w map[string]float64) string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, v+"="+strconv.FormatFloat(w[v], 'g', -1, 64))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func (e *env) printAlias(a *client.Alias) error {
	if e.asJSON {
		return e.printJSON(a)
	}
	fmt.Fprintf(e.stdout, "Alias:       %s\nVersion:     %s\nWeights:     %s\nDescription: %s\nModified:    %s\n",
		a.AliasName, a.VersionID, weightsText(a.AdditionalVersionWeight), a.Description, e.localTime(a.LastModifiedTime))
	return nil
}

func newAliasesCreate(e *env) *cobra.Command {
	var version, description string
	var weights []string
	cmd := &cobra.Command{
		Use:     "create SERVICE ALIAS --version N",
		Short:   "Create an alias pointing to a version",
		Example: `  openfc aliases create shop prod --version 3 --weight 4=0.1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := parseWeights(weights)
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.CreateAlias(cmd.Context(), args[0], client.Alias{AliasName: args[1], VersionID: version, Description: description, AdditionalVersionWeight: w})
			if err != nil {
				return err
			}
			return e.printAlias(a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "version", "", "the version the alias points to (required)")
	f.StringArrayVar(&weights, "weight", nil, "VERSION=W: another version takes the share W (0 to 1) of the requests")
	f.StringVar(&description, "description", "", "what the alias is for")
	_ = cmd.MarkFlagRequired("version")
	return cmd
}

func newAliasesGet(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "get SERVICE ALIAS",
		Short: "Show an alias",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.GetAlias(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return e.printAlias(a)
		},
	}
}

func newAliasesList(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list SERVICE",
		Short: "List the service's aliases (--json: a JSON array)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			all := []client.Alias{}
			for token := ""; ; {
				as, next, err := c.ListAliases(cmd.Context(), args[0], client.ListOptions{Limit: 100, NextToken: token})
				if err != nil {
					return err
				}
				all = append(all, as...)
				if token = next; token == "" {
					break
				}
			}
			if e.asJSON {
				return e.printJSON(all)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ALIAS\tVERSION\tWEIGHTS\tMODIFIED\tDESCRIPTION")
			for _, a := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.AliasName, a.VersionID, weightsText(a.AdditionalVersionWeight), e.localTime(a.LastModifiedTime), a.Description)
			}
			return tw.Flush()
		},
	}
}

func newAliasesUpdate(e *env) *cobra.Command {
	var version, description string
	var weights []string
	var noWeights bool
	cmd := &cobra.Command{
		Use:   "update SERVICE ALIAS",
		Short: "Move an alias to another version, or change its weights (takes effect for the next requests, on every node)",
		Example: `  openfc aliases update shop prod --version 4 --no-weights
  openfc aliases update shop prod --weight 4=0.5`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fields := map[string]any{}
			if cmd.Flags().Changed("version") {
				fields["versionId"] = version
			}
			if cmd.Flags().Changed("description") {
				fields["description"] = description
			}
			if len(weights) > 0 && noWeights {
				return fmt.Errorf("--weight and --no-weights exclude each other")
			}
			if len(weights) > 0 {
				w, err := parseWeights(weights)
				if err != nil {
					return err
				}
				fields["additionalVersionWeight"] = w
			}
			if noWeights {
				fields["additionalVersionWeight"] = map[string]float64{}
			}
			if len(fields) == 0 {
				return fmt.Errorf("nothing to update: give --version, --weight, --no-weights or --description")
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.UpdateAlias(cmd.Context(), args[0], args[1], fields)
			if err != nil {
				return err
			}
			return e.printAlias(a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "version", "", "the version the alias points to")
	f.StringArrayVar(&weights, "weight", nil, "VERSION=W: another version takes the share W (0 to 1) of the requests (replaces the weights)")
	f.BoolVar(&noWeights, "no-weights", false, "remove the additional version: every request goes to the alias's version")
	f.StringVar(&description, "description", "", "what the alias is for")
	return cmd
}

func newAliasesDelete(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete SERVICE ALIAS...",
		Aliases: []string{"rm"},
		Short:   "Delete aliases",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			for _, name := range args[1:] {
				if err := c.DeleteAlias(cmd.Context(), args[0], name); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted alias %s of service %s\n", name, args[0])
			}
			return nil
		},
	}
}
