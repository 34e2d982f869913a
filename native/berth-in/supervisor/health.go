package supervisor

// Health checks, compose's way: a probe every interval (every start_interval during the start
// period), each bounded by the timeout; failures during the start period do not count until
// the first pass; `retries` failures in a row make the service unhealthy.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const maxHealthOutput = 4096

// runHealth probes until stop closes, reporting each result to the actor.
func (sup *Supervisor) runHealth(s *svc, gen int, h Healthcheck, rs runSpec, stop <-chan struct{}) {
	started := time.Now()
	passed := false
	for {
		wait := time.Duration(h.IntervalMs) * time.Millisecond
		inStart := !passed && time.Since(started) < time.Duration(h.StartPeriodMs)*time.Millisecond
		if inStart && h.StartIntervalMs > 0 {
			wait = time.Duration(h.StartIntervalMs) * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		ok, out := probe(h, rs)
		inStart = !passed && time.Since(started) < time.Duration(h.StartPeriodMs)*time.Millisecond
		passed = passed || ok
		sup.post(func() { sup.healthResult(s, gen, h, ok, out, inStart) })
	}
}

// healthResult applies one probe's result in the actor.
func (sup *Supervisor) healthResult(s *svc, gen int, h Healthcheck, ok bool, out string, inStart bool) {
	if s.gen != gen || s.proc == nil {
		return
	}
	s.lastHealthOutput = &out
	if ok {
		s.passed, s.healthFailures, s.state, s.message = true, 0, stHealthy, ""
		return
	}
	if inStart {
		return
	}
	s.healthFailures++
	retries := h.Retries
	if retries < 1 {
		retries = 1
	}
	if s.healthFailures >= retries {
		s.state = stUnhealthy
		s.message = fmt.Sprintf("health check failed %d times in a row", s.healthFailures)
	}
}

// probe runs one check; the output says what it saw (trimmed to 4 KiB).
func probe(h Healthcheck, rs runSpec) (bool, string) {
	timeout := time.Duration(h.TimeoutMs) * time.Millisecond
	switch h.Probe.Kind {
	case "cmd":
		return probeCmd(h.Probe.Argv, rs, timeout)
	case "http":
		return probeHTTP(h.Probe, timeout)
	default:
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Probe.Port)), timeout)
		if err != nil {
			return false, trim(err.Error())
		}
		c.Close()
		return true, fmt.Sprintf("connected to 127.0.0.1:%d", h.Probe.Port)
	}
}

func probeCmd(argv []string, rs runSpec, timeout time.Duration) (bool, string) {
	cmd := rs.command(argv)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return false, trim(err.Error())
	}
	done := make(chan struct{})
	timer := time.AfterFunc(timeout, func() { signalGroup(cmd.Process.Pid, syscall.SIGKILL) })
	go func() { cmd.Wait(); close(done) }()
	<-done
	timedOut := !timer.Stop()
	signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	if timedOut {
		return false, trim(fmt.Sprintf("timed out after %s; %s", timeout, out.String()))
	}
	code := exitStatus(cmd.ProcessState, nil)
	if code != 0 {
		return false, trim(fmt.Sprintf("exit code %d: %s", code, out.String()))
	}
	return true, trim(out.String())
}

func probeHTTP(p Probe, timeout time.Duration) (bool, string) {
	client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	path := p.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, path), nil)
	if err != nil {
		return false, trim(err.Error())
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, trim(err.Error())
	}
	resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	if len(p.Status) > 0 {
		ok = false
		for _, s := range p.Status {
			ok = ok || s == resp.StatusCode
		}
	}
	return ok, fmt.Sprintf("HTTP %d", resp.StatusCode)
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxHealthOutput {
		s = s[len(s)-maxHealthOutput:]
	}
	return s
}
