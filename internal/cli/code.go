package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/pkg/client"
)

// newFunctionCode is `openfc functions code <service>/<function> [-o
// file]`: GetFunctionCode, then its presigned url downloaded with a plain
// GET (as an SDK user would), the checksum checked.
func (e *env) newFunctionCode() *cobra.Command {
	var output string
	cmd := e.functionCommand("code", "Download a function's code package (-o: the file, default <function>.zip; - for stdout)",
		func(cmd *cobra.Command, c *client.Client, service, function string) error {
			var code struct {
				URL      string `json:"url"`
				Checksum string `json:"checksum"`
			}
			if _, err := c.Do(cmd.Context(), http.MethodGet, functionPath(service, function)+"/code", nil, nil, &code); err != nil {
				return err
			}
			zip, err := download(cmd, code.URL)
			if err != nil {
				return fmt.Errorf("downloading the code of %s/%s: %w", service, function, err)
			}
			if sum := codezip.Checksum(zip); sum != code.Checksum {
				return fmt.Errorf("the code of %s/%s downloaded with checksum %s; GetFunctionCode said %s (updated meanwhile? try again)", service, function, sum, code.Checksum)
			}
			if output == "-" {
				_, err := e.stdout.Write(zip)
				return err
			}
			if output == "" {
				output = function + ".zip"
			}
			if err := os.WriteFile(output, zip, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s (%d bytes, checksum %s)\n", output, len(zip), code.Checksum)
			return nil
		})
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the zip to (- for stdout)")
	return cmd
}

// download GETs a presigned url; an FC error comes back as *client.Error.
func download(cmd *cobra.Command, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, client.ResponseError(resp)
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, resp.Body)
	return buf.Bytes(), err
}
