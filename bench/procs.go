package main

import (
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// procs tracks every child the harness starts so that all of them stop at
// the end, on failure and on Ctrl-C; the signal handler's goroutine stops
// them while the run may still be starting more, hence the mutex.
type procs struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

// start runs c in its own process group, so that stopAll also reaches what
// it spawns (nginx workers, openfc's instances), and with Pdeathsig, so that
// it dies with the harness even when the harness is killed.
func (p *procs) start(c *exec.Cmd) error {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, c)
	p.mu.Unlock()
	return nil
}

// stopAll sends SIGTERM to each child's process group, then SIGKILL after a
// grace period.
func (p *procs) stopAll() {
	p.mu.Lock()
	cmds := p.cmds
	p.cmds = nil
	p.mu.Unlock()
	done := make(chan struct{})
	for _, c := range cmds {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		}
	}
	go func() {
		for _, c := range cmds {
			_ = c.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, c := range cmds {
			if c.Process != nil {
				_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			}
		}
		<-done
	}
}

// stop stops the child with pid as stopAll does, and forgets it.
func (p *procs) stop(pid int) {
	p.mu.Lock()
	var c *exec.Cmd
	for i, x := range p.cmds {
		if x.Process != nil && x.Process.Pid == pid {
			c = x
			p.cmds = append(p.cmds[:i], p.cmds[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	if c == nil {
		return
	}
	one := &procs{cmds: []*exec.Cmd{c}}
	one.stopAll()
}
