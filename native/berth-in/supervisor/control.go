package supervisor

// The control socket (ROOT/run/ctl.sock, 0600): one JSON request line per connection, one
// JSON reply line (or, for watch, a line per state change). `berth-in ctl` is its client.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// Request is what ctl sends.
type Request struct {
	Cmd     string `json:"cmd"`
	Service string `json:"service,omitempty"`
}

// Reply is what the supervisor answers; State is set for status and watch.
type Reply struct {
	OK      bool            `json:"ok"`
	Code    string          `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	State   json.RawMessage `json:"state,omitempty"`
}

// Reply codes ctl maps to exit statuses.
const (
	CodeUnknownService = "unknown-service"
	CodeFailed         = "failed"
	CodeUsage          = "usage"
)

func (sup *Supervisor) serve(ln net.Listener, shutdown func() error) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go sup.handle(c, shutdown)
	}
}

func (sup *Supervisor) handle(c net.Conn, shutdown func() error) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 4096)
	line, err := r.ReadSlice('\n')
	if err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})
	var req Request
	if json.Unmarshal(line, &req) != nil {
		writeReply(c, Reply{Code: CodeUsage, Message: "the request is not JSON"})
		return
	}
	switch req.Cmd {
	case "status":
		var st []byte
		sup.do(func() { st = sup.stateJSON() })
		writeReply(c, Reply{OK: true, State: st})
	case "watch":
		sup.watch(c, r)
	case "start", "stop", "restart":
		writeReply(c, toReply(sup.serviceCommand(req.Cmd, req.Service)))
	case "reload":
		writeReply(c, toReply(sup.reload()))
	case "shutdown":
		writeReply(c, toReply(shutdown()))
	default:
		writeReply(c, Reply{Code: CodeUsage, Message: fmt.Sprintf("unknown request %q", req.Cmd)})
	}
}

// watch streams state lines until the client goes away or the supervisor ends.
func (sup *Supervisor) watch(c net.Conn, r *bufio.Reader) {
	w := sup.watchers.add()
	defer sup.watchers.remove(w)
	gone := make(chan struct{})
	go func() {
		r.ReadByte() // any byte or EOF: the client is done
		close(gone)
	}()
	for {
		select {
		case <-w.notify:
			if st := w.take(); st != nil {
				if writeReply(c, Reply{OK: true, State: st}) != nil {
					return
				}
			}
		case <-gone:
			return
		case <-sup.watchers.done:
			return
		}
	}
}

// serviceError is an error that knows its reply code.
type serviceError struct{ code, msg string }

func (e *serviceError) Error() string { return e.msg }

func toReply(err error) Reply {
	if err == nil {
		return Reply{OK: true}
	}
	if se, ok := err.(*serviceError); ok {
		return Reply{Code: se.code, Message: se.msg}
	}
	return Reply{Code: CodeFailed, Message: err.Error()}
}

func writeReply(c net.Conn, r Reply) error {
	b, _ := json.Marshal(r)
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.Write(append(b, '\n'))
	return err
}
