package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/deploy"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

func newDeploy(e *env) *cobra.Command {
	var file, region string
	cmd := &cobra.Command{
		Use:   "deploy [-f s.yaml]",
		Short: "Deploy the services, functions and HTTP triggers of a Serverless Devs s.yaml (fc3 or fc component)",
		Long: `Deploy reads a Serverless Devs s.yaml, zips each function's code directory
and creates or updates the service, function and HTTP triggers through the
management API. Both the fc3 component (FC 3.0; functions go into the service
named by the file's top-level name) and the FC 2.0 fc component are read.
${env(NAME)} variables are expanded. Re-deploying updates in place.

The file is checked before anything is deployed: an unknown key, an unknown
runtime, a value of the wrong type or a code directory that does not exist
stops the deploy with the file, line and key at fault. FC settings openfc does
not apply (vpcConfig, logConfig, nasConfig, role, ...) are accepted with a
warning each on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, notices, err := deploy.ParseFile(file, e.getenv, region)
			// Warnings come first, also before an error: they may explain it.
			for _, n := range notices {
				fmt.Fprintln(e.stderr, "warning:", n)
			}
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			return e.apply(cmd.Context(), c, plan)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "s.yaml", "the s.yaml to deploy")
	cmd.Flags().StringVar(&region, "region", "cn-hangzhou", "the server's region (a differing s.yaml region only prints a note)")
	return cmd
}

// functionBody renders a create or update body: the function's fields and
// its code (zipFile, base64), when it has code (zip not nil; a
// custom-container function has none). The code is encoded straight into
// a buffer of the final size: json.Marshal's growing buffer and final
// copy held a large package about four times over.
func functionBody(fn *fc.Function, zip []byte) (json.RawMessage, error) {
	b, err := json.Marshal(deployedFunction{Function: fn, CustomDNS: fn.CustomDNS, InternetAccess: fn.InternetAccess,
		CustomRuntimeConfig: fn.CustomRuntimeConfig, CustomContainerConfig: fn.CustomContainerConfig})
	if err != nil {
		return nil, err
	}
	if zip == nil {
		return b, nil
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("function JSON %q is not an object", b)
	}
	const pre, post = `"code":{"zipFile":"`, `"}}`
	out := make([]byte, 0, len(b)+1+len(pre)+base64.StdEncoding.EncodedLen(len(zip))+len(post))
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, pre...)
	out = base64.StdEncoding.AppendEncode(out, zip)
	return append(out, post...), nil
}

// deployedFunction is a function as deploy sends it: the fields below
// are sent as null when the s.yaml leaves them out. An update keeps the
// fields its body omits (FC's partial update), so without the nulls a
// customDNS or internetAccess removed from the file would stay on the
// function, and a function turned from a custom runtime into a custom
// container (or back) would keep the other's config, which the API
// refuses. (The outer fields hide the embedded ones of the same name.)
type deployedFunction struct {
	*fc.Function
	CustomDNS             *fc.CustomDNS             `json:"customDNS"`
	InternetAccess        *bool                     `json:"internetAccess"`
	CustomRuntimeConfig   *fc.CustomRuntimeConfig   `json:"customRuntimeConfig"`
	CustomContainerConfig *fc.CustomContainerConfig `json:"customContainerConfig"`
}

// apply creates or updates everything in the plan.
func (e *env) apply(ctx context.Context, c *client.Client, plan *deploy.Plan) error {
	var deployed []fc.Trigger
	for _, sp := range plan.Services {
		svc := sp.Service
		if err := upsert(ctx, c, "/services/"+url.PathEscape(svc.ServiceName), "/services", &svc); err != nil {
			return fmt.Errorf("service %s: %w", svc.ServiceName, err)
		}
		base := "/services/" + url.PathEscape(svc.ServiceName) + "/functions"
		for _, fp := range sp.Functions {
			fn := fp.Function
			var zipped []byte
			what := "image " + imageOf(&fn)
			if fp.CodeDir != "" { // a custom container has none
				var err error
				if zipped, err = codezip.ZipDir(fp.CodeDir); err != nil {
					return fmt.Errorf("function %s: zipping %s: %w", fn.FunctionName, fp.CodeDir, err)
				}
				what = fmt.Sprintf("code %d bytes", len(zipped)) // the zip itself is not needed once in the body
			}
			body, err := functionBody(&fn, zipped)
			if err != nil {
				return fmt.Errorf("function %s/%s: %w", svc.ServiceName, fn.FunctionName, err)
			}
			if err := upsert(ctx, c, base+"/"+url.PathEscape(fn.FunctionName), base, body); err != nil {
				return fmt.Errorf("function %s/%s: %w", svc.ServiceName, fn.FunctionName, err)
			}
			fmt.Fprintf(e.stdout, "deployed %s/%s (%s, %s)\n", svc.ServiceName, fn.FunctionName, fn.Runtime, what)
			if ac := fp.AsyncConfig; ac != nil {
				path := base + "/" + url.PathEscape(fn.FunctionName) + "/async-invoke-config"
				if _, err := c.Do(ctx, http.MethodPut, path, nil, ac, nil); err != nil {
					return fmt.Errorf("async config of %s/%s: %w", svc.ServiceName, fn.FunctionName, err)
				}
			}
			tbase := base + "/" + url.PathEscape(fn.FunctionName) + "/triggers"
			for _, t := range fp.Triggers {
				t := t
				var out fc.Trigger
				if err := upsertInto(ctx, c, tbase+"/"+url.PathEscape(t.TriggerName), tbase, &t, &out); err != nil {
					return fmt.Errorf("trigger %s of %s/%s: %w", t.TriggerName, svc.ServiceName, fn.FunctionName, err)
				}
				out.ServiceName, out.FunctionName = svc.ServiceName, fn.FunctionName
				deployed = append(deployed, out)
			}
		}
	}
	// Domains route to the functions above: they go once those exist.
	for _, d := range plan.Domains {
		d := d
		var out struct{ Warnings []string }
		if err := upsertInto(ctx, c, "/custom-domains/"+url.PathEscape(d.DomainName), "/custom-domains", &d, &out); err != nil {
			return fmt.Errorf("custom domain %s: %w", d.DomainName, err)
		}
		fmt.Fprintf(e.stdout, "deployed custom domain %s (%s)\n", d.DomainName, d.Protocol)
		for _, w := range out.Warnings {
			fmt.Fprintf(e.stderr, "warning: custom domain %s: %s\n", d.DomainName, w)
		}
	}
	for _, t := range deployed {
		fmt.Fprintf(e.stdout, "  %s/%s trigger %s (%s, %v)\n", t.ServiceName, t.FunctionName, t.TriggerName,
			t.TriggerConfig.AuthType, t.TriggerConfig.Methods)
		if t.URLInternet == "" && t.URLIntranet == "" {
			fmt.Fprintln(e.stdout, "    internet URLs disabled (disableURLInternet: true)")
			continue
		}
		fmt.Fprintf(e.stdout, "    %s\n    %s\n", t.URLInternet, t.URLIntranet)
	}
	return nil
}

// imageOf returns the image of a custom-container function ("" for
// others).
func imageOf(fn *fc.Function) string {
	if fn.CustomContainerConfig == nil {
		return ""
	}
	return fn.CustomContainerConfig.Image
}

func upsert(ctx context.Context, c *client.Client, itemPath, collPath string, body any) error {
	return upsertInto(ctx, c, itemPath, collPath, body, nil)
}

// upsertInto updates itemPath with body, creating it in collPath when it
// does not exist yet.
func upsertInto(ctx context.Context, c *client.Client, itemPath, collPath string, body, out any) error {
	_, err := c.Do(ctx, http.MethodGet, itemPath, nil, nil, nil)
	var apiErr *client.Error
	switch {
	case err == nil:
		_, err = c.Do(ctx, http.MethodPut, itemPath, nil, body, out)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		_, err = c.Do(ctx, http.MethodPost, collPath, nil, body, out)
	}
	return err
}
