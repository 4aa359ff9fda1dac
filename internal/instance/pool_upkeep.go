package instance

import (
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// This file is a pool's upkeep, run by the manager rather than by
// requests: idle reclaim, the provisioned target, retirement after a
// configuration change, shutdown, and what the instances API lists.

// reclaimIdle stops instances idle for longer than the idle timeout,
// keeping the provisioned target.
func (p *pool) reclaimIdle(now time.Time, keep int) {
	p.mu.Lock()
	var idle []*inst
	for i := 0; i < len(p.instances); {
		in := p.instances[i]
		if len(p.instances) > keep && in.inflight == 0 && now.Sub(in.lastUsed) >= p.m.opts.IdleTimeout {
			in.gone = true
			p.instances = append(p.instances[:i], p.instances[i+1:]...)
			idle = append(idle, in)
			continue
		}
		i++
	}
	p.mu.Unlock()
	for _, in := range idle {
		p.m.log.Info("reclaiming idle instance", "function", p.key, "instance", in.id)
		p.m.stopSoon(in, "idle")
	}
}

// provision starts instances until target are running or starting.
func (p *pool) provision(target int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.retired {
		return
	}
	for n := 0; n < len(p.instances); n++ {
		p.instances[n].provisioned = n < target
	}
	for len(p.instances)+p.starting < target && time.Now().After(p.backoffUntil) && !p.slotFullLocked() {
		if !p.m.reserve() {
			return
		}
		p.beginStartLocked(true)
	}
}

// idleCount is the number of instances in rotation.
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.instances) + p.starting
}

// retire takes the pool out of service: idle instances stop now, busy
// ones when their last request ends; waiters retry on the new pool
// (Manager.Acquire).
func (p *pool) retire() {
	p.mu.Lock()
	p.retired = true
	var idle []*inst
	for _, in := range p.instances {
		in.gone = true
		if in.inflight == 0 {
			idle = append(idle, in)
		}
	}
	p.instances = nil
	p.failWaitersLocked(retiredError())
	p.mu.Unlock()
	for _, in := range idle {
		p.m.stopSoon(in, "retired")
	}
}

// drainAll removes and returns every instance, for shutdown.
func (p *pool) drainAll() []*inst {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = true
	out := p.instances
	for _, in := range out {
		in.gone = true
	}
	p.instances = nil
	p.failWaitersLocked(fc.Errorf(fc.CodeServiceUnavailable, "the server is shutting down"))
	return out
}

// info describes the pool's instances.
func (p *pool) info() []fc.InstanceInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]fc.InstanceInfo, 0, len(p.instances))
	for _, in := range p.instances {
		out = append(out, fc.InstanceInfo{
			InstanceID: in.id, ServiceName: p.service, FunctionName: p.function, Qualifier: p.qualifier, VersionID: p.qualifier,
			State: fc.InstanceReady, StartedTime: in.started.UTC().Format(time.RFC3339Nano), InFlight: in.inflight,
			RequestsServed: in.served, Restarts: p.restarts, Provisioned: in.provisioned, Address: in.sb.Address(),
		})
	}
	for i := 0; i < p.starting-p.slotWait; i++ { // not yet: those without a slot
		out = append(out, fc.InstanceInfo{ServiceName: p.service, FunctionName: p.function, Qualifier: p.qualifier, VersionID: p.qualifier,
			State: fc.InstanceStarting, Restarts: p.restarts})
	}
	return out
}
