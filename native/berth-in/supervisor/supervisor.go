package supervisor

// The supervisor is an actor: one goroutine owns every service's state and runs the closures
// sent to it (process exits, health results, timers, ctl requests). No locks, no races
// between a restart and a stop; after each closure the state is compared and watchers told.

import (
	"fmt"
	"os"
	"time"
)

// svc is one service at run time.
type svc struct {
	def     Service
	fp      string
	state   string
	message string

	proc             *proc
	gen              int // bumped per start, so events of an old process are ignored
	starts           int
	restarts         int
	policyRestarts   int // restarts by policy since the last ctl start/restart (on-failure's cap)
	backoffStep      int
	backoffTimer     *time.Timer
	exitCode         *int
	startedAt        time.Time
	healthFailures   int
	lastHealthOutput *string
	passed           bool // health check has passed since this start
	stopHealth       chan struct{}
	log              *LogWriter

	userStopped    bool     // by ctl stop: stays stopped until ctl start
	pendingRestart bool     // start again as soon as the process has exited
	replacement    *Service // reload: the new definition, taken when the process has exited
	removed        bool     // reload: dropped from services.json
	stopWaiters    []chan error
	startWaiters   []chan error
}

// Supervisor runs one root's services.
type Supervisor struct {
	paths    Paths
	pid      int
	cfg      *Config
	order    []*svc
	byName   map[string]*svc
	events   chan func()
	watchers *watchers
	last     string
	stopping bool // shutting down: nothing starts any more
	logf     func(format string, a ...any)
}

// New prepares a supervisor for cfg; Run starts it.
func New(paths Paths, cfg *Config, logf func(string, ...any)) *Supervisor {
	sup := &Supervisor{paths: paths, pid: os.Getpid(), cfg: cfg, byName: map[string]*svc{}, events: make(chan func(), 256), watchers: newWatchers(), logf: logf}
	sup.adopt(cfg)
	return sup
}

// adopt makes run-time entries for cfg's services, in dependency order.
func (sup *Supervisor) adopt(cfg *Config) {
	waves, _ := cfg.Waves()
	defs := map[string]Service{}
	for _, s := range cfg.Services {
		defs[s.Name] = s
	}
	var order []*svc
	for _, wave := range waves {
		for _, name := range wave {
			s := sup.byName[name]
			if s == nil {
				s = &svc{def: defs[name], fp: cfg.fingerprint(defs[name]), state: stWaiting}
				sup.byName[name] = s
			}
			order = append(order, s)
		}
	}
	// Services still stopping after a reload stay listed until their process has exited.
	for _, s := range sup.order {
		if s.removed {
			order = append(order, s)
		}
	}
	sup.order = order
}

// do runs f in the actor and waits for it.
func (sup *Supervisor) do(f func()) {
	done := make(chan struct{})
	sup.events <- func() { f(); close(done) }
	<-done
}

// post runs f in the actor without waiting (for goroutines reporting back).
func (sup *Supervisor) post(f func()) {
	sup.events <- f
}

// loop is the actor; it returns when quit closes.
func (sup *Supervisor) loop(quit <-chan struct{}) {
	sup.reconcile()
	for {
		select {
		case f := <-sup.events:
			f()
			sup.reconcile()
		case <-quit:
			return
		}
	}
}

// reconcile starts every waiting service whose dependencies are met, marks the ones that can
// never start blocked, and publishes the state when it changed.
func (sup *Supervisor) reconcile() {
	for changed := true; changed; {
		changed = false
		for _, s := range sup.order {
			if s.removed || s.proc != nil || s.userStopped || sup.stopping {
				continue
			}
			if s.state != stWaiting && s.state != stBlocked {
				continue
			}
			ready, blocked, why := sup.depsMet(s)
			switch {
			case ready:
				sup.start(s)
				changed = true
			case blocked:
				if s.state != stBlocked || s.message != why {
					s.state, s.message = stBlocked, why
					for _, w := range s.startWaiters {
						w <- fmt.Errorf("%s is blocked: %s", s.def.Name, why)
					}
					s.startWaiters = nil
				}
			default:
				s.state, s.message = stWaiting, why
			}
		}
	}
	sup.publish()
}

// depsMet says whether s may start now, or never can (a dependency failed), and why not.
func (sup *Supervisor) depsMet(s *svc) (ready, blocked bool, why string) {
	for _, d := range s.def.DependsOn {
		dep := sup.byName[d.Service]
		if dep == nil || dep.removed {
			return false, true, fmt.Sprintf("%s is not defined", d.Service)
		}
		switch d.Condition {
		case "completed":
			if dep.state == stCompleted {
				continue
			}
			if dep.state == stFailed {
				return false, true, fmt.Sprintf("%s did not complete successfully (exit code %s)", d.Service, codeText(dep.exitCode))
			}
			if dep.state == stBlocked {
				return false, true, fmt.Sprintf("%s is blocked", d.Service)
			}
			return false, false, fmt.Sprintf("waiting for %s to complete", d.Service)
		case "healthy":
			if dep.state == stHealthy || (dep.def.Healthcheck == nil && dep.state == stRunning) {
				continue
			}
			if dep.state == stFailed || dep.state == stBlocked || dep.state == stCompleted {
				return false, true, fmt.Sprintf("%s is %s and will not become healthy", d.Service, dep.state)
			}
			return false, false, fmt.Sprintf("waiting for %s to be healthy", d.Service)
		default: // started
			switch dep.state {
			case stStarting, stRunning, stHealthy, stUnhealthy, stCompleted:
				continue
			case stFailed, stBlocked:
				return false, true, fmt.Sprintf("%s is %s", d.Service, dep.state)
			}
			return false, false, fmt.Sprintf("waiting for %s to start", d.Service)
		}
	}
	return true, false, ""
}

func codeText(c *int) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}

// publish sends the state to watchers when it differs from the last one sent.
func (sup *Supervisor) publish() {
	b := sup.stateJSON()
	if string(b) == sup.last {
		return
	}
	sup.last = string(b)
	sup.watchers.send(b)
}
