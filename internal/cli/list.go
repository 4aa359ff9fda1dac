package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

// listAll follows nextToken through every page of a list call whose items
// are under key. An empty list is empty, not nil, so that --json prints
// [] rather than null.
func listAll[T any](cmd *cobra.Command, c *client.Client, path, key string) ([]T, error) {
	all := []T{}
	token := ""
	for {
		q := url.Values{"limit": {"100"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var page map[string]json.RawMessage
		if _, err := c.Do(cmd.Context(), http.MethodGet, path, q, nil, &page); err != nil {
			return nil, err
		}
		var items []T
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("decoding %s: %w", key, err)
			}
		}
		all = append(all, items...)
		token = ""
		if raw, ok := page["nextToken"]; ok {
			_ = json.Unmarshal(raw, &token)
		}
		if token == "" {
			return all, nil
		}
	}
}
