package supervisor

// ctl start|stop|restart|reload and the shutdown, in terms of the actor: each sets what the
// service should do, then waits (outside the actor) until it has happened.

import (
	"fmt"
	"sync"
)

// serviceCommand runs start, stop or restart for name and returns when it is done.
func (sup *Supervisor) serviceCommand(cmd, name string) error {
	var wait chan error
	var err error
	sup.do(func() {
		s := sup.byName[name]
		if s == nil || s.removed {
			err = &serviceError{CodeUnknownService, fmt.Sprintf("there is no service named %q", name)}
			return
		}
		if sup.stopping {
			err = fmt.Errorf("the supervisor is shutting down")
			return
		}
		wait = make(chan error, 1)
		switch cmd {
		case "stop":
			s.userStopped, s.pendingRestart = true, false
			if s.proc == nil {
				sup.stop(s)
				s.state, s.message = stStopped, ""
				wait <- nil
				return
			}
			s.stopWaiters = append(s.stopWaiters, wait)
			sup.stop(s)
		case "start", "restart":
			s.userStopped, s.policyRestarts, s.backoffStep = false, 0, 0
			if s.proc != nil {
				if cmd == "start" {
					wait <- nil
					return
				}
				s.pendingRestart = true
				s.startWaiters = append(s.startWaiters, wait)
				sup.stop(s)
				return
			}
			sup.stop(s) // a pending backoff restart is replaced by this one
			s.state, s.message = stWaiting, ""
			s.startWaiters = append(s.startWaiters, wait)
		}
	})
	if err != nil {
		return err
	}
	return <-wait
}

// reload re-reads services.json: removed services stop, changed ones restart, new ones start.
func (sup *Supervisor) reload() error {
	cfg, err := LoadConfig(sup.paths.Config)
	if err != nil {
		return err
	}
	var waits []chan error
	sup.do(func() {
		if sup.stopping {
			err = fmt.Errorf("the supervisor is shutting down")
			return
		}
		defs := map[string]Service{}
		for _, s := range cfg.Services {
			defs[s.Name] = s
		}
		old := sup.cfg
		sup.cfg = cfg
		for name, s := range sup.byName {
			def, kept := defs[name]
			switch {
			case !kept:
				s.removed = true
			case cfg.fingerprint(def) != old.fingerprint(s.def):
				d := def
				s.replacement = &d
			default:
				continue
			}
			if s.proc == nil {
				sup.stop(s)
				if s.removed {
					sup.forget(s)
				} else {
					s.def, s.fp, s.replacement = def, cfg.fingerprint(def), nil
					s.state, s.message, s.userStopped = stWaiting, "", false
				}
				continue
			}
			w := make(chan error, 1)
			s.stopWaiters = append(s.stopWaiters, w)
			waits = append(waits, w)
			sup.stop(s)
		}
		sup.adopt(cfg)
		sup.logf("reloaded services.json (version %s)", cfg.Hash())
	})
	for _, w := range waits {
		<-w
	}
	return err
}

// shutdownAll stops every service, dependents before what they depend on.
func (sup *Supervisor) shutdownAll() {
	var waves [][]*svc
	sup.do(func() {
		sup.stopping = true
		ws, _ := sup.cfg.Waves()
		for i := len(ws) - 1; i >= 0; i-- {
			var wave []*svc
			for _, name := range ws[i] {
				if s := sup.byName[name]; s != nil {
					wave = append(wave, s)
				}
			}
			waves = append(waves, wave)
		}
		// Services removed by a reload and still stopping go first.
		var removed []*svc
		for _, s := range sup.order {
			if s.removed {
				removed = append(removed, s)
			}
		}
		waves = append([][]*svc{removed}, waves...)
	})
	for _, wave := range waves {
		var wg sync.WaitGroup
		for _, s := range wave {
			w := make(chan error, 1)
			sup.do(func() {
				if s.proc == nil {
					sup.stop(s)
					if !s.removed {
						s.state, s.message = stStopped, ""
					}
					w <- nil
					return
				}
				s.stopWaiters = append(s.stopWaiters, w)
				sup.stop(s)
			})
			wg.Add(1)
			go func() { <-w; wg.Done() }()
		}
		wg.Wait()
	}
}
