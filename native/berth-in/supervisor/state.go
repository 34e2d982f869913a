package supervisor

// The state `ctl status` prints and `ctl watch` streams (contract: docs/berth-in.md, "State").

import (
	"encoding/json"
	"time"
)

// Service states.
const (
	stWaiting   = "waiting"
	stStarting  = "starting"
	stRunning   = "running"
	stHealthy   = "healthy"
	stUnhealthy = "unhealthy"
	stCompleted = "completed"
	stFailed    = "failed"
	stBackoff   = "backoff"
	stStopped   = "stopped"
	stBlocked   = "blocked"
)

// State is the whole supervisor's state.
type State struct {
	SupervisorPid int            `json:"supervisorPid"`
	ConfigVersion string         `json:"configVersion"`
	Services      []ServiceState `json:"services"`
}

// ServiceState is one service's line in State.
type ServiceState struct {
	Name             string  `json:"name"`
	State            string  `json:"state"`
	Pid              *int    `json:"pid"`
	Restarts         int     `json:"restarts"`
	ExitCode         *int    `json:"exitCode"`
	StartedAt        *string `json:"startedAt"`
	HealthFailures   int     `json:"healthFailures"`
	LastHealthOutput *string `json:"lastHealthOutput"`
	Message          *string `json:"message"`
}

func (s *svc) view() ServiceState {
	v := ServiceState{Name: s.def.Name, State: s.state, Restarts: s.restarts, ExitCode: s.exitCode, HealthFailures: s.healthFailures, LastHealthOutput: s.lastHealthOutput}
	if s.proc != nil {
		pid := s.proc.pid
		v.Pid = &pid
	}
	if !s.startedAt.IsZero() {
		t := s.startedAt.UTC().Format(time.RFC3339Nano)
		v.StartedAt = &t
	}
	if s.message != "" {
		m := s.message
		v.Message = &m
	}
	return v
}

// stateJSON is the current state as one JSON line (no newline).
func (sup *Supervisor) stateJSON() []byte {
	st := State{SupervisorPid: sup.pid, ConfigVersion: sup.cfg.Hash(), Services: []ServiceState{}}
	for _, s := range sup.order {
		if !s.removed {
			st.Services = append(st.Services, s.view())
		}
	}
	b, _ := json.Marshal(st)
	return b
}
