package network

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"strings"
)

// HostName is the name instances reach the host by: their gateway.
const HostName = "host.openfc.internal"

// DNS is what an instance's /etc/resolv.conf says.
type DNS struct {
	Nameservers, Searches, Options []string
}

// hostFiles are the host's resolver settings and hosts file, read once.
type hostFiles struct {
	dns   DNS
	hosts []byte
}

// systemdResolvConf lists the real upstream servers where /etc/resolv.conf
// names systemd-resolved's loopback stub.
const systemdResolvConf = "/run/systemd/resolve/resolv.conf"

// readHostFiles reads the host's resolv.conf and hosts. Loopback
// nameservers (a local stub resolver) are unreachable from an instance's
// namespace; systemd-resolved's upstream list replaces them when there
// is one. warn is called once when instances are left without a resolver.
func readHostFiles(warn func(msg string, args ...any)) hostFiles {
	var h hostFiles
	h.hosts, _ = os.ReadFile("/etc/hosts")
	conf, _ := os.ReadFile("/etc/resolv.conf")
	h.dns = parseResolvConf(conf)
	if len(h.dns.Nameservers) == 0 && hasLoopbackNameserver(conf) {
		if up, err := os.ReadFile(systemdResolvConf); err == nil {
			h.dns.Nameservers = parseResolvConf(up).Nameservers
		}
		if len(h.dns.Nameservers) == 0 {
			warn("the host's resolvers are on loopback, which instances cannot reach: instances have no DNS unless their function sets customDNS", "resolv.conf", "/etc/resolv.conf")
		}
	}
	return h
}

// parseResolvConf reads nameserver (loopback ones left out), search and
// options lines.
func parseResolvConf(b []byte) DNS {
	var d DNS
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil && !a.IsLoopback() {
				d.Nameservers = append(d.Nameservers, f[1])
			}
		case "search", "domain":
			d.Searches = f[1:]
		case "options":
			d.Options = append(d.Options, f[1:]...)
		}
	}
	return d
}

func hasLoopbackNameserver(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.IsLoopback() {
				return true
			}
		}
	}
	return false
}

// resolvConf renders d, each of whose lists left empty takes the host's
// (customDNS may set only searches, say).
func (h *hostFiles) resolvConf(d DNS) []byte {
	if len(d.Nameservers) == 0 {
		d.Nameservers = h.dns.Nameservers
	}
	if len(d.Searches) == 0 {
		d.Searches = h.dns.Searches
	}
	if len(d.Options) == 0 {
		d.Options = h.dns.Options
	}
	var b bytes.Buffer
	b.WriteString("# written by openfc for this instance\n")
	for _, n := range d.Nameservers {
		b.WriteString("nameserver " + n + "\n")
	}
	if len(d.Searches) > 0 {
		b.WriteString("search " + strings.Join(d.Searches, " ") + "\n")
	}
	if len(d.Options) > 0 {
		b.WriteString("options " + strings.Join(d.Options, " ") + "\n")
	}
	return b.Bytes()
}

// hostsFile is the host's hosts file with the gateway's name added.
func (h *hostFiles) hostsFile(gateway netip.Addr) []byte {
	b := bytes.NewBuffer(make([]byte, 0, len(h.hosts)+64))
	if len(h.hosts) == 0 {
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	} else {
		b.Write(h.hosts)
		if h.hosts[len(h.hosts)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.WriteString("# added by openfc: the host, as this instance reaches it\n")
	b.WriteString(gateway.String() + "\t" + HostName + "\n")
	return b.Bytes()
}
