package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	logLevelRE  = regexp.MustCompile(`\blevel=(\S+)`)
	recoveredRE = regexp.MustCompile(`msg="recovered (\d+) streams from (\S+)"`)
)

// After kill -9 the embedded NATS server's recovery goes to the debug
// log: at the default level the operator sees one line saying how many
// streams were recovered, no nats warnings, and the functions answer.
func TestRestartAfterKill9IsQuiet(t *testing.T) {
	dir := t.TempDir()
	a := startServer(t, dir)
	a.deployEcho(echoOpts{service: "quiet", name: "first"})
	// A clean stop writes each stream's index; what the next run adds is
	// then newer than the index, as on any long-running server.
	a.stop()
	b := startServer(t, dir)
	b.deployEcho(echoOpts{service: "quiet", name: "second"})
	b.kill9()

	// The streams there to recover (the calls below may add a function's
	// log stream).
	streams, err := os.ReadDir(filepath.Join(dir, "jetstream", "$G", "streams"))
	if err != nil {
		t.Fatal(err)
	}
	c := startServer(t, dir)
	c.getEcho("/2016-08-15/proxy/quiet/first/x", nil)
	c.getEcho("/2016-08-15/proxy/quiet/second/y", nil)

	var recovered []string
	for _, line := range strings.Split(c.log.String(), "\n") {
		level := ""
		if m := logLevelRE.FindStringSubmatch(line); m != nil {
			level = m[1]
		}
		if strings.Contains(line, "component=nats") && (level == "WARN" || level == "ERROR") {
			t.Errorf("nats %s after kill -9: %s", level, line)
		}
		if m := recoveredRE.FindStringSubmatch(line); m != nil {
			if level != "INFO" {
				t.Errorf("recovery line at %s: %s", level, line)
			}
			if m[1] != fmt.Sprint(len(streams)) || m[2] != filepath.Join(dir, "jetstream") {
				t.Errorf("recovery line says %s streams from %s; the store %s has %d", m[1], m[2], filepath.Join(dir, "jetstream"), len(streams))
			}
			recovered = append(recovered, line)
		}
	}
	if len(recovered) != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", len(recovered), c.log.String())
	}
}
