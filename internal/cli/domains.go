package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newDomains(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "domains",
		Aliases: []string{"custom-domains"},
		Short:   "Create, show, list, update and delete custom domains (routes to functions, rewrites, HTTPS certificates)",
		Long: `A custom domain routes the requests whose Host is its name (or, for
"*.example.com", one label under it) to functions: the route with the
path equal to the request's, else the longest "/prefix/*" one. HTTPS
domains bring their certificate, served by SNI on --tls-listen.`,
	}
	cmd.AddCommand(newDomainsWrite(e, "create"), newDomainsGet(e), newDomainsList(e), newDomainsWrite(e, "update"), newDomainsDelete(e))
	return cmd
}

// domainFlags are the flags of create and update.
type domainFlags struct {
	file, protocol, certName, certFile, keyFile string
	routes                                      []string
}

// domain builds the request body: the file's domain (FC's JSON), with
// the flags on top.
func (f *domainFlags) domain(name string) (*client.CustomDomain, error) {
	d := &client.CustomDomain{}
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, d); err != nil {
			return nil, fmt.Errorf("%s: %w", f.file, err)
		}
	}
	if name != "" {
		d.DomainName = name
	}
	if f.protocol != "" {
		d.Protocol = f.protocol
	}
	if f.certFile != "" || f.keyFile != "" {
		cert, err := os.ReadFile(f.certFile)
		if err != nil {
			return nil, fmt.Errorf("--cert: %w", err)
		}
		key, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		certName := f.certName
		if certName == "" {
			certName = strings.NewReplacer("*", "wildcard", ".", "-").Replace(d.DomainName)
		}
		d.CertConfig = &client.CertConfig{CertName: certName, Certificate: string(cert), PrivateKey: string(key)}
	}
	for _, r := range f.routes {
		pc, err := parseRoute(r)
		if err != nil {
			return nil, err
		}
		if d.RouteConfig == nil {
			d.RouteConfig = &client.RouteConfig{}
		}
		d.RouteConfig.Routes = append(d.RouteConfig.Routes, pc)
	}
	return d, nil
}

// parseRoute reads "PATH=SERVICE/FUNCTION[@QUALIFIER]".
func parseRoute(s string) (client.PathConfig, error) {
	path, target, ok := strings.Cut(s, "=")
	service, function, ok2 := strings.Cut(target, "/")
	if !ok || !ok2 || path == "" || service == "" || function == "" {
		return client.PathConfig{}, fmt.Errorf("--route %q: use PATH=SERVICE/FUNCTION[@QUALIFIER], e.g. /api/*=shop/api@prod", s)
	}
	function, qualifier, _ := strings.Cut(function, "@")
	return client.PathConfig{Path: path, ServiceName: service, FunctionName: function, Qualifier: qualifier}, nil
}

func newDomainsWrite(e *env, verb string) *cobra.Command {
	var f domainFlags
	cmd := &cobra.Command{
		Use:   verb + " DOMAIN",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a custom domain from flags and/or a JSON file of FC's shape",
		Example: `  openfc domains ` + verb + ` api.example.com --route '/*=shop/web' --route '/api/*=shop/api@prod'
  openfc domains ` + verb + ` shop.example.com --protocol HTTP,HTTPS --cert shop.crt --key shop.key --route '/*=shop/web'
  openfc domains ` + verb + ` shop.example.com -f domain.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			d, err := f.domain(args[0])
			if err != nil {
				return err
			}
			if verb == "create" {
				d, err = c.CreateCustomDomain(cmd.Context(), d)
			} else {
				d, err = c.UpdateCustomDomain(cmd.Context(), d)
			}
			if err != nil {
				return err
			}
			for _, w := range d.Warnings {
				fmt.Fprintln(e.stderr, "warning:", w)
			}
			if e.asJSON {
				return e.printJSON(d)
			}
			fmt.Fprintf(e.stdout, "%sd custom domain %s (%s, %d routes)\n", verb, d.DomainName, d.Protocol, len(routesOf(d)))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "a JSON file with the domain in FC's shape (routeConfig with rewriteConfig, certConfig…)")
	fl.StringVar(&f.protocol, "protocol", "", "HTTP, HTTPS or HTTP,HTTPS (default HTTP on create)")
	fl.StringArrayVar(&f.routes, "route", nil, "a route PATH=SERVICE/FUNCTION[@QUALIFIER] (repeat for more; replaces the routes)")
	fl.StringVar(&f.certFile, "cert", "", "PEM certificate (chain) file, for HTTPS")
	fl.StringVar(&f.keyFile, "key", "", "PEM private key file of --cert")
	fl.StringVar(&f.certName, "cert-name", "", "a name for the certificate (default: from the domain)")
	return cmd
}

func routesOf(d *client.CustomDomain) []client.PathConfig {
	if d.RouteConfig == nil {
		return nil
	}
	return d.RouteConfig.Routes
}

func newDomainsGet(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "get DOMAIN",
		Short: "Show a custom domain as JSON (the private key is never shown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			d, err := c.GetCustomDomain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return e.printJSON(d)
		},
	}
}

func newDomainsList(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the custom domains and their routes (--json: a JSON array)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ds, err := c.ListCustomDomains(cmd.Context())
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(ds)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DOMAIN\tPROTOCOL\tCERTIFICATE\tROUTES\tMODIFIED")
			for _, d := range ds {
				var rs []string
				for _, r := range routesOf(&d) {
					target := r.ServiceName + "/" + r.FunctionName
					if r.Qualifier != "" && r.Qualifier != "LATEST" {
						target += "@" + r.Qualifier
					}
					rs = append(rs, r.Path+"="+target)
				}
				cert := "-"
				if d.CertConfig != nil {
					cert = d.CertConfig.CertName
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.DomainName, d.Protocol, cert, strings.Join(rs, " "), e.localTime(d.LastModifiedTime))
			}
			return tw.Flush()
		},
	}
}

func newDomainsDelete(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete DOMAIN...",
		Aliases: []string{"rm"},
		Short:   "Delete custom domains: their hosts stop being served at once, on every node",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := c.DeleteCustomDomain(cmd.Context(), name); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted custom domain %s\n", name)
			}
			return nil
		},
	}
}
