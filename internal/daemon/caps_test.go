package daemon

import (
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// A node announcing a wildcard front door is reached at its cluster
// listener's host; any other URL is used as announced.
func TestFrontDoor(t *testing.T) {
	cases := []struct {
		url, cluster, want string
	}{
		{"http://10.0.0.5:8080", "10.0.0.5:6222", "http://10.0.0.5:8080"},
		{"http://[::]:8080", "10.0.0.5:6222", "http://10.0.0.5:8080"},
		{"http://0.0.0.0:8080", "node2.internal:6222", "http://node2.internal:8080"},
		{"http://[::]:8080", "fd00::2:6222", "http://[::]:8080"},        // not host:port
		{"http://[::]:8080", "[fd00::2]:6222", "http://[fd00::2]:8080"}, // IPv6
		{"http://[::]:8080", "", "http://[::]:8080"},                    // --nats: as announced
		{"http://[::]:8080", "0.0.0.0:6222", "http://[::]:8080"},        // no better host
		{"http://openfc-1:8080", "", "http://openfc-1:8080"},
	}
	for _, c := range cases {
		if got := frontDoor(fc.Node{URL: c.url, Cluster: c.cluster}); got != c.want {
			t.Errorf("frontDoor(%s, cluster %q) = %s; want %s", c.url, c.cluster, got, c.want)
		}
	}
}
