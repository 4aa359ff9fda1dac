package instance

import (
	"sort"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// ListInstances lists the running instances of service/function, or of every
// function when both are empty, sorted by function and start time.
func (m *Manager) ListInstances(service, function string) []fc.InstanceInfo {
	m.mu.RLock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		if (service == "" && function == "") || (p.service == service && p.function == function) {
			pools = append(pools, p)
		}
	}
	m.mu.RUnlock()
	var out []fc.InstanceInfo
	for _, p := range pools {
		out = append(out, p.info()...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ServiceName+"/"+out[i].FunctionName != out[j].ServiceName+"/"+out[j].FunctionName {
			return out[i].ServiceName+"/"+out[i].FunctionName < out[j].ServiceName+"/"+out[j].FunctionName
		}
		return startedBefore(out[i].StartedTime, out[j].StartedTime)
	})
	return out
}

// startedBefore compares two StartedTime values as times: RFC 3339 with
// trailing zeros trimmed does not sort as text ("…:05Z" > "…:05.5Z"). An
// instance still starting has none and sorts first.
func startedBefore(a, b string) bool {
	ta, _ := time.Parse(time.RFC3339Nano, a)
	tb, _ := time.Parse(time.RFC3339Nano, b)
	return ta.Before(tb)
}

// Count is how many instances this node runs, starting ones included.
func (m *Manager) Count() int { return int(m.total.Load()) }
