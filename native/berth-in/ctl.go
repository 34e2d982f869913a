package main

// `berth-in ctl ...`: the client of the supervisor's control socket. Exit 3 when no
// supervisor answers, 4 for a service services.json does not name.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"berth.dev/berth-in/supervisor"
)

const ctlUsage = "ctl status | watch | logs SERVICE [--follow] [--since DURATION|RFC3339] [--tail N] [--timestamps] | start|stop|restart SERVICE | reload | shutdown"

func runCtl(root string, args []string) error {
	p := supervisor.PathsFor(root)
	if len(args) == 0 {
		return usageError("%s", ctlUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "status", "reload", "shutdown":
		if len(rest) != 0 {
			return usageError("ctl %s takes no arguments", cmd)
		}
		r, err := request(p, supervisor.Request{Cmd: cmd})
		if err != nil {
			return noSupervisor(root)
		}
		if err := replyError(r); err != nil {
			return err
		}
		if cmd == "status" {
			fmt.Printf("%s\n", r.State)
		}
		if cmd == "shutdown" {
			return waitUnlocked(p)
		}
		return nil
	case "watch":
		if len(rest) != 0 {
			return usageError("ctl watch takes no arguments")
		}
		return watch(p, root, func(state []byte) error {
			_, err := fmt.Printf("%s\n", state)
			return err
		})
	case "start", "stop", "restart":
		if len(rest) != 1 {
			return usageError("ctl %s needs one SERVICE", cmd)
		}
		r, err := request(p, supervisor.Request{Cmd: cmd, Service: rest[0]})
		if err != nil {
			return noSupervisor(root)
		}
		return replyError(r)
	case "logs":
		return ctlLogs(p, root, rest)
	}
	return usageError("unknown ctl command %q; %s", cmd, ctlUsage)
}

// dial connects to the control socket.
func dial(p supervisor.Paths) (net.Conn, error) {
	return net.DialTimeout("unix", p.Sock, 2*time.Second)
}

// request sends one request and reads its one reply; an error means nobody answered.
func request(p supervisor.Paths, req supervisor.Request) (supervisor.Reply, error) {
	var r supervisor.Reply
	c, err := dial(p)
	if err != nil {
		return r, err
	}
	defer c.Close()
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return r, err
	}
	line, err := bufio.NewReaderSize(c, 1<<20).ReadBytes('\n')
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(line, &r)
}

// replyError maps a refused request to its exit status.
func replyError(r supervisor.Reply) error {
	if r.OK {
		return nil
	}
	switch r.Code {
	case supervisor.CodeUnknownService:
		return &cliError{exitUnknownService, "unknown-service", r.Message}
	case supervisor.CodeUsage:
		return usageError("%s", r.Message)
	}
	return failed("%s", r.Message)
}

// watch calls each with every state line until the supervisor ends (then nil).
func watch(p supervisor.Paths, root string, each func([]byte) error) error {
	c, err := dial(p)
	if err != nil {
		return noSupervisor(root)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"cmd":"watch"}` + "\n")); err != nil {
		return noSupervisor(root)
	}
	in := bufio.NewReaderSize(c, 1<<20)
	first := true
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			if first {
				return noSupervisor(root)
			}
			return nil
		}
		first = false
		var r supervisor.Reply
		if json.Unmarshal(line, &r) != nil || !r.OK {
			return failed("the supervisor sent an unexpected watch line")
		}
		if err := each(r.State); err != nil {
			return nil
		}
	}
}

// knownService asks the supervisor whether name is one of its services.
func knownService(p supervisor.Paths, root, name string) error {
	r, err := request(p, supervisor.Request{Cmd: "status"})
	if err != nil {
		return noSupervisor(root)
	}
	var st supervisor.State
	if json.Unmarshal(r.State, &st) != nil {
		return failed("the supervisor sent a state that is not JSON")
	}
	for _, s := range st.Services {
		if s.Name == name {
			return nil
		}
	}
	return unknownService(name)
}

// waitUnlocked returns once the supervisor has exited (its lock is free), so a supervise
// right after a shutdown finds no supervisor.
func waitUnlocked(p supervisor.Paths) error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lock, err := supervisor.Lock(p); err == nil {
			lock.Close()
			return nil
		}
	}
	return failed("the supervisor stopped its services but has not exited")
}
