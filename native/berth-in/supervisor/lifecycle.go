package supervisor

// A service's process from start to exit, all in the actor: start it, stop it (SIGTERM to
// its group, SIGKILL after the grace), and decide on its exit what comes next.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// start runs s's process. A process that cannot be started counts as an exit with 127 (what
// a shell says for a missing command), so the restart policy applies to it too.
func (sup *Supervisor) start(s *svc) {
	s.gen++
	s.starts++
	if s.starts > 1 {
		s.restarts++
	}
	s.exitCode, s.healthFailures, s.lastHealthOutput, s.passed, s.message = nil, 0, nil, false, ""
	if s.log == nil {
		if w, err := OpenLog(sup.paths.LogDir, s.def.Name); err == nil {
			s.log = w
		} else {
			sup.logf("cannot open the log of %s: %v", s.def.Name, err)
		}
	}
	gen := s.gen
	s.startedAt = time.Now()
	rs, err := sup.runSpecFor(s.def)
	var cmd = rs.command(s.def.Argv)
	var logged <-chan struct{}
	if err == nil {
		logged, err = sup.startWithLogs(cmd, s.log)
	}
	if err != nil {
		msg := fmt.Sprintf("could not start: %v", err)
		if s.log != nil {
			s.log.Line("stderr", []byte("berth-in: "+msg))
		}
		sup.logf("%s %s", s.def.Name, msg)
		sup.exited(s, 127, msg)
		return
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid}
	s.proc = p
	if s.def.Healthcheck != nil {
		s.state = stStarting
		s.stopHealth = make(chan struct{})
		go sup.runHealth(s, gen, *s.def.Healthcheck, rs, s.stopHealth)
	} else {
		s.state = stRunning
	}
	sup.logf("started %s (pid %d)", s.def.Name, p.pid)
	go func() {
		err := cmd.Wait()
		code := exitStatus(cmd.ProcessState, err)
		// Whatever the service left in its group goes with it (as a container's would).
		signalGroup(p.pid, syscall.SIGKILL)
		// Its last lines are in the log before the exit is reported (bounded: something that
		// left the group may hold the pipe open).
		select {
		case <-logged:
		case <-time.After(2 * time.Second):
		}
		sup.post(func() {
			if s.gen == gen && s.proc == p {
				sup.exited(s, code, "")
			}
		})
	}()
	for _, w := range s.startWaiters {
		w <- nil
	}
	s.startWaiters = nil
	if s.starts > 1 {
		sup.restartDependents(s)
	}
}

// restartDependents restarts the running services that depend on s with `restart: true`.
func (sup *Supervisor) restartDependents(s *svc) {
	for _, d := range sup.order {
		for _, dep := range d.def.DependsOn {
			if dep.Service == s.def.Name && dep.Restart && d.proc != nil && !d.removed {
				sup.logf("restarting %s because %s restarted", d.def.Name, s.def.Name)
				d.pendingRestart = true
				sup.stop(d)
			}
		}
	}
}

// stop signals s's process group; exited() runs when it is gone. A service waiting to restart
// just stops waiting.
func (sup *Supervisor) stop(s *svc) {
	if s.backoffTimer != nil {
		s.backoffTimer.Stop()
		s.backoffTimer = nil
	}
	if s.proc == nil {
		return
	}
	p := s.proc
	signalGroup(p.pid, syscall.SIGTERM)
	if p.kill == nil {
		p.kill = time.AfterFunc(stopGrace(), func() { signalGroup(p.pid, syscall.SIGKILL) })
	}
}

// exited records an exit and applies what follows: a pending restart, a ctl stop, a reload,
// or the restart policy.
func (sup *Supervisor) exited(s *svc, code int, msg string) {
	if s.proc != nil && s.proc.kill != nil {
		s.proc.kill.Stop()
	}
	s.proc = nil
	if s.stopHealth != nil {
		close(s.stopHealth)
		s.stopHealth = nil
	}
	s.exitCode = &code
	ran := time.Since(s.startedAt)
	sup.logf("%s exited with code %d after %s", s.def.Name, code, ran.Round(time.Millisecond))
	for _, w := range s.stopWaiters {
		w <- nil
	}
	s.stopWaiters = nil
	switch {
	case s.removed:
		sup.forget(s)
		return
	case s.replacement != nil:
		s.def, s.replacement = *s.replacement, nil
		s.fp = sup.cfg.fingerprint(s.def)
		s.state, s.message, s.pendingRestart = stWaiting, "", false
		return
	case s.pendingRestart:
		s.pendingRestart = false
		s.state, s.message = stWaiting, ""
		return
	case s.userStopped || sup.stopping:
		s.state, s.message = stStopped, ""
		return
	}
	if msg == "" {
		msg = fmt.Sprintf("exited with code %d", code)
	}
	next := decide(s.def.Restart, code, s.policyRestarts)
	switch next {
	case stCompleted, stFailed:
		s.state, s.message = next, msg
		if next == stFailed && s.def.Restart.MaxRetries != nil && s.def.Restart.Policy == "on-failure" && code != 0 && s.policyRestarts > 0 {
			s.message = fmt.Sprintf("%s; gave up after %d restarts", msg, s.policyRestarts)
		}
		for _, w := range s.startWaiters {
			w <- fmt.Errorf("%s %s", s.def.Name, msg)
		}
		s.startWaiters = nil
	case stBackoff:
		if ran >= backoffResetAfter {
			s.backoffStep = 0
		}
		delay := backoffDelay(s.backoffStep)
		s.backoffStep++
		s.state, s.message = stBackoff, fmt.Sprintf("%s; restarting in %s", msg, delay)
		gen := s.gen
		s.backoffTimer = time.AfterFunc(delay, func() {
			sup.post(func() {
				if s.gen == gen && s.state == stBackoff && s.proc == nil {
					s.backoffTimer = nil
					s.policyRestarts++
					s.state, s.message = stWaiting, ""
				}
			})
		})
	}
}

// forget drops a service removed by reload once its process is gone.
func (sup *Supervisor) forget(s *svc) {
	if s.log != nil {
		s.log.Close()
	}
	delete(sup.byName, s.def.Name)
	for i, o := range sup.order {
		if o == s {
			sup.order = append(sup.order[:i], sup.order[i+1:]...)
			break
		}
	}
}

// startWithLogs starts cmd with its stdout and stderr on our own pipes, pumped into the log
// until every writer (the service and anything it started) has closed them. exec's
// StdoutPipe would be closed by Wait and could drop the last lines.
// The returned channel closes when both pipes have ended.
func (sup *Supervisor) startWithLogs(cmd *exec.Cmd, log *LogWriter) (<-chan struct{}, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	pump := func(r *os.File, stream string) {
		defer wg.Done()
		defer r.Close()
		if log == nil {
			io.Copy(io.Discard, r)
			return
		}
		log.Pump(r, stream)
	}
	wg.Add(2)
	go pump(outR, "stdout")
	go pump(errR, "stderr")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done, nil
}
