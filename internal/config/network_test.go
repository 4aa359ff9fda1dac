package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/sandbox/network"
)

func noEnv(string) string { return "" }

// The instance network flags: their defaults, what they accept, and a
// clear refusal naming the flag otherwise.
func TestInstanceNetworkFlags(t *testing.T) {
	o, err := Load(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.InstanceCIDR != network.DefaultCIDR || o.InstanceAllowHostPorts != nil || o.InstanceNetNSPool != network.DefaultPoolSize {
		t.Errorf("defaults: cidr %v, allow %v, pool %d", o.InstanceCIDR, o.InstanceAllowHostPorts, o.InstanceNetNSPool)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(*testing.T, *Options)
		err   string // "" = accepted
	}{
		{name: "a /20", args: []string{"--instance-cidr", "10.200.0.0/20"}, check: func(t *testing.T, o *Options) {
			if o.InstanceCIDR != netip.MustParsePrefix("10.200.0.0/20") {
				t.Errorf("cidr %v", o.InstanceCIDR)
			}
		}},
		{name: "a /28 holds 4 instances", args: []string{"--instance-cidr", "192.168.77.16/28"}},
		{name: "a /29 is too small", args: []string{"--instance-cidr", "192.168.77.16/29"}, err: "--instance-cidr 192.168.77.16/29 is too small"},
		{name: "IPv6", args: []string{"--instance-cidr", "fd00::/64"}, err: "give an IPv4 prefix"},
		{name: "IPv4-mapped IPv6", args: []string{"--instance-cidr", "::ffff:10.0.0.0/112"}, err: "give an IPv4 prefix"},
		{name: "host bits", args: []string{"--instance-cidr", "10.0.0.5/16"}, err: "did you mean 10.0.0.0/16?"},
		{name: "metadata address", args: []string{"--instance-cidr", "169.254.0.0/16"}, err: "contains the cloud metadata address 169.254.169.254"},
		{name: "not a prefix", args: []string{"--instance-cidr", "10.0.0.0"}, err: "is not a CIDR prefix"},
		{name: "ports and ranges", args: []string{"--instance-allow-host-ports", "6379, 5432,8000-8003,5432"}, check: func(t *testing.T, o *Options) {
			if want := []uint16{5432, 6379, 8000, 8001, 8002, 8003}; !slices.Equal(o.InstanceAllowHostPorts, want) {
				t.Errorf("allow %v; want %v", o.InstanceAllowHostPorts, want)
			}
		}},
		{name: "none", args: []string{"--instance-allow-host-ports", "none"}, check: func(t *testing.T, o *Options) {
			if o.InstanceAllowHostPorts == nil || len(o.InstanceAllowHostPorts) != 0 {
				t.Errorf("allow %#v; want an empty, non-nil list", o.InstanceAllowHostPorts)
			}
		}},
		{name: "empty is the default policy", args: []string{"--instance-allow-host-ports", ""}, check: func(t *testing.T, o *Options) {
			if o.InstanceAllowHostPorts != nil {
				t.Errorf("allow %#v; want nil", o.InstanceAllowHostPorts)
			}
		}},
		{name: "port 0", args: []string{"--instance-allow-host-ports", "0"}, err: "from 1 to 65535"},
		{name: "port 65536", args: []string{"--instance-allow-host-ports", "80,65536"}, err: `"65536"`},
		{name: "reversed range", args: []string{"--instance-allow-host-ports", "9000-8000"}, err: "ends before it starts"},
		{name: "empty item", args: []string{"--instance-allow-host-ports", "80,,443"}, err: `""`},
		{name: "pool 0 keeps none", args: []string{"--instance-netns-pool", "0"}, check: func(t *testing.T, o *Options) {
			if o.InstanceNetNSPool != 0 {
				t.Errorf("pool %d", o.InstanceNetNSPool)
			}
		}},
		{name: "negative pool", args: []string{"--instance-netns-pool", "-1"}, err: "--instance-netns-pool -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Load(tc.args, noEnv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Load(%q) = %v; want an error containing %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tc.args, err)
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

// The flag values print back as they are read (the --help defaults).
func TestPortsValueString(t *testing.T) {
	for in, want := range map[string]string{"": "", "none": "none", "80,8000-8002,443,81": "80-81,443,8000-8002"} {
		var ports []uint16
		v := portsValue{&ports}
		if err := v.Set(in); err != nil {
			t.Fatalf("Set(%q): %v", in, err)
		}
		if got := v.String(); got != want {
			t.Errorf("Set(%q).String() = %q; want %q", in, got, want)
		}
	}
}
