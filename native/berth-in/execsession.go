package main

// One connection of the exec server: hello, request, the command's streams, its exit code.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"
)

// execReq is the request frame: the shape of src/api/exec.ts ExecRequest.
type execReq struct {
	Cmd  []string          `json:"cmd"`
	Env  map[string]string `json:"env"`
	Cwd  string            `json:"cwd"`
	Tty  bool              `json:"tty"`
	Cols uint16            `json:"cols"`
	Rows uint16            `json:"rows"`
}

// requestTimeout bounds how long a connection may take to send its request after the hello.
const requestTimeout = 10 * time.Second

// defaultPath is the PATH of a command whose environment has none (what runc assumes too).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// frameWriter sends frames from several goroutines, one whole frame at a time.
type frameWriter struct {
	mu   sync.Mutex
	conn net.Conn
	dead bool
}

func (w *frameWriter) send(typ byte, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead {
		return net.ErrClosed
	}
	if _, err := w.conn.Write(encodeFrame(typ, 0, payload)); err != nil {
		w.dead = true
		return err
	}
	return nil
}

func serveExecConn(conn net.Conn, base execBase) {
	defer conn.Close()
	w := &frameWriter{conn: conn}
	hello, _ := json.Marshal(execHelloMsg{Workspace: base.workspace, Version: version})
	if w.send(execHello, hello) != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	f, err := readExecFrame(conn)
	if err != nil || f.typ != execRequest {
		return // a probe (the daemon's own check) or garbage: nothing to run
	}
	conn.SetReadDeadline(time.Time{})
	var req execReq
	if err := json.Unmarshal(f.payload, &req); err != nil || len(req.Cmd) == 0 {
		w.send(execStderr, []byte("berth-in: the exec request is not valid\n"))
		w.send(execExit, []byte(`{"code":126}`))
		return
	}
	code, gone := runRequest(conn, w, base, req)
	w.send(execExit, []byte(fmt.Sprintf(`{"code":%d}`, code)))
	// Close gracefully: end our side, then wait for the client to end its own (it does once it
	// read the exit frame). Closing with its last frames unread would reset the connection,
	// and a reset can cost the client the exit frame it has not read yet.
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(closeTimeout))
	if gone == nil {
		io.Copy(io.Discard, conn)
		return
	}
	<-gone
}

// closeTimeout bounds how long a finished session waits for its client to hang up.
const closeTimeout = 5 * time.Second

// startFailure tells the client why nothing started, as the engine's runtime does (as text on
// the output), and gives the shell's code: 127 not found, 126 found but cannot run.
func startFailure(w *frameWriter, tty bool, name string, err error) int {
	stream := byte(execStderr)
	if tty {
		stream = execStdout
	}
	w.send(stream, []byte(fmt.Sprintf("berth-in: exec %q: %v\r\n", name, err)))
	if errors.Is(err, errNotFound) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return 127
	}
	return 126
}

// runRequest runs the command and relays its streams; the exit code (128+N for signal N).
func runRequest(conn net.Conn, w *frameWriter, base execBase, req execReq) (int, <-chan struct{}) {
	names := make([]string, 0, len(req.Env))
	for k := range req.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	env := base.env
	if req.Tty {
		// The engine sets TERM for a tty exec; the request's own TERM still wins below.
		if _, ok := lookupEnv(env, "TERM"); !ok {
			env = append(append([]string{}, env...), "TERM=xterm")
		}
	}
	env = mergeEnv(env, req.Env, names)
	dir := base.dir
	if req.Cwd != "" {
		dir = req.Cwd
	}
	path, ok := lookupEnv(env, "PATH")
	if !ok {
		path = defaultPath
	}
	argv0, err := resolveCommand(req.Cmd[0], path, dir)
	if err != nil {
		return startFailure(w, req.Tty, req.Cmd[0], err), nil
	}

	var (
		stdinW          *os.File
		outputs         []*os.File // what we read: the pty's primary side, or stdout and stderr pipes
		childFiles      []*os.File // the child's ends, closed here once it started
		attr            = &syscall.SysProcAttr{}
		primary         *os.File
		closeAfterStart []*os.File
	)
	if req.Tty {
		ptmx, pts, err := openPty()
		if err != nil {
			return startFailure(w, true, req.Cmd[0], err), nil
		}
		primary = ptmx
		if req.Cols > 0 && req.Rows > 0 {
			setWinsize(ptmx, req.Cols, req.Rows)
		}
		childFiles = []*os.File{pts, pts, pts}
		closeAfterStart = []*os.File{pts}
		attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0
		stdinW, outputs = ptmx, []*os.File{ptmx}
	} else {
		inR, inW, err1 := os.Pipe()
		outR, outW, err2 := os.Pipe()
		errR, errW, err3 := os.Pipe()
		if err := firstErr(err1, err2, err3); err != nil {
			for _, f := range []*os.File{inR, inW, outR, outW, errR, errW} {
				if f != nil {
					f.Close()
				}
			}
			return startFailure(w, false, req.Cmd[0], err), nil
		}
		childFiles = []*os.File{inR, outW, errW}
		closeAfterStart = childFiles
		// Its own process group, so a signal from the client reaches what it started too.
		attr.Setpgid = true
		stdinW, outputs = inW, []*os.File{outR, errR}
	}
	proc, err := os.StartProcess(argv0, req.Cmd, &os.ProcAttr{Dir: dir, Env: env, Files: childFiles, Sys: attr})
	for _, f := range closeAfterStart {
		f.Close()
	}
	if err != nil {
		for _, f := range outputs {
			f.Close()
		}
		if stdinW != primary {
			stdinW.Close()
		}
		return startFailure(w, req.Tty, req.Cmd[0], err), nil
	}

	// Output: one reader per stream, each frame written whole.
	var out sync.WaitGroup
	for i, f := range outputs {
		typ := byte(execStdout)
		if i == 1 {
			typ = execStderr
		}
		out.Add(1)
		go func(f *os.File, typ byte) {
			defer out.Done()
			buf := make([]byte, 32*1024)
			for {
				n, err := f.Read(buf)
				if n > 0 && w.send(typ, buf[:n]) != nil {
					// The client is gone: keep draining so the command never blocks on a full pipe.
				}
				if err != nil { // EOF for a pipe, EIO for a terminal whose every user closed it
					return
				}
			}
		}(f, typ)
	}

	// Input: frames from the client; stdin bytes go through a bounded queue so a command that
	// does not read its input never stops resizes and signals from arriving.
	stdinQ := make(chan []byte, 16)
	go func() {
		broken := false
		for b := range stdinQ {
			if b == nil {
				break
			}
			if !broken {
				if _, err := stdinW.Write(b); err != nil {
					broken = true // the command closed its input: the rest is dropped, as the engine does
				}
			}
		}
		if !req.Tty {
			stdinW.Close()
		}
	}()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		eofSent := false
		for {
			f, err := readExecFrame(conn)
			if err != nil {
				break
			}
			switch f.typ {
			case execStdin:
				if !eofSent {
					stdinQ <- f.payload
				}
			case execEOF:
				if !eofSent {
					eofSent = true
					stdinQ <- nil
				}
			case execResize:
				if primary != nil && len(f.payload) == 4 {
					cols, rows := binary.BigEndian.Uint16(f.payload[0:2]), binary.BigEndian.Uint16(f.payload[2:4])
					if cols > 0 && rows > 0 {
						setWinsize(primary, cols, rows)
					}
				}
			case execSignal:
				if len(f.payload) == 1 && f.payload[0] > 0 && f.payload[0] < 65 {
					syscall.Kill(-proc.Pid, syscall.Signal(f.payload[0]))
				}
			}
		}
		if !eofSent {
			stdinQ <- nil
		}
	}()

	procDone := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := proc.Wait()
		procDone <- st
	}()
	hangup := func() {
		// The client went away: end the command as a closed terminal or ssh session would.
		syscall.Kill(-proc.Pid, syscall.SIGHUP)
		if primary != nil {
			primary.Close()
		}
	}
	var state *os.ProcessState
	select {
	case state = <-procDone:
	case <-gone:
		hangup()
		return 129, gone
	}
	exited := make(chan struct{})
	go func() {
		out.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-gone:
		// Something the command started still holds its output, and nobody reads it any more.
		hangup()
	}
	if primary != nil {
		primary.Close()
	}
	return exitCodeOf(state), gone
}

// firstErr is the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// exitCodeOf is the status as a shell reports it: the code, or 128+N when killed by signal N.
func exitCodeOf(state *os.ProcessState) int {
	if state == nil {
		return 126
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}
