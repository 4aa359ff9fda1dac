package daemon

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/sandbox/network"
)

func TestNetOwner(t *testing.T) {
	dir := t.TempDir()
	a, err := netOwner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(a) {
		t.Fatalf("netOwner = %q; want 8 hex digits", a)
	}
	if again, _ := netOwner(dir + "/"); again != a {
		t.Errorf("netOwner(%s/) = %q; want the same id as without the slash, %q", dir, again, a)
	}
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	if fromRel, _ := netOwner(rel); fromRel != a {
		t.Errorf("netOwner(relative %s) = %q; want %q", rel, fromRel, a)
	}
	if other, _ := netOwner(t.TempDir()); other == a {
		t.Errorf("two data dirs share the id %q", a)
	}
}

func TestListenPorts(t *testing.T) {
	got := listenPorts("127.0.0.1:8080", "[::1]:8081", "nats://127.0.0.1:4222", "", "127.0.0.1:0", "no-port", "0.0.0.0:8080")
	if want := []uint16{4222, 8080, 8081}; !slices.Equal(got, want) {
		t.Errorf("listenPorts = %v; want %v", got, want)
	}
}

// The instance network gets the options' CIDR, allow list and pool, the
// ports openfc really listens on, and a state dir under the data dir.
func TestNetworkOptions(t *testing.T) {
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	data := t.TempDir()
	for _, tc := range []struct {
		name     string
		admin    bool
		pool     int
		allow    []uint16
		wantPool int
	}{
		{name: "defaults", admin: true, pool: network.DefaultPoolSize, wantPool: network.DefaultPoolSize},
		{name: "no admin listener, no pool, an allow list", pool: 0, allow: []uint16{5432}, wantPool: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := config.Defaults(t.TempDir())
			o.DataDir = data
			o.InstanceCIDR = netip.MustParsePrefix("10.9.0.0/24")
			o.InstanceNetNSPool = tc.pool
			o.InstanceAllowHostPorts = tc.allow
			d := &Daemon{opts: &o, log: slog.New(slog.DiscardHandler), ln: listen()}
			want := []uint16{uint16(d.ln.Addr().(*net.TCPAddr).Port)}
			if tc.admin {
				d.adminLn = listen()
				want = append(want, uint16(d.adminLn.Addr().(*net.TCPAddr).Port))
			}
			slices.Sort(want)
			got, err := d.networkOptions()
			if err != nil {
				t.Fatal(err)
			}
			owner, _ := netOwner(data)
			switch {
			case got.CIDR != o.InstanceCIDR, got.Owner != owner, got.PoolSize != tc.wantPool, got.Logger == nil:
				t.Errorf("options %+v", got)
			case !slices.Equal(got.DenyHostPorts, want):
				t.Errorf("DenyHostPorts = %v; want the listeners' ports %v", got.DenyHostPorts, want)
			case !slices.Equal(got.AllowHostPorts, tc.allow) || (tc.allow == nil) != (got.AllowHostPorts == nil):
				t.Errorf("AllowHostPorts = %#v; want %#v", got.AllowHostPorts, tc.allow)
			case got.StateDir != filepath.Join(data, "run", "net"):
				t.Errorf("StateDir = %s", got.StateDir)
			}
		})
	}
}
