package main

// `berth-in relay tcp|unix`: listens inside the workspace and carries every accepted
// connection over stdin/stdout in relay frames (frames.go). This is how ssh -R and ssh -A
// reach into a workspace through nothing but the provider's exec.

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"berth.dev/berth-in/supervisor"
)

// relay is one running relay: its listener, its connections and the one stdout they share.
type relay struct {
	outMu sync.Mutex
	out   io.Writer

	mu     sync.Mutex
	conns  map[uint32]*relayConn
	nextID uint32
	ln     net.Listener
	path   string // the unix socket file to remove at the end, if any

	doneOnce sync.Once
	done     chan error
}

func runRelay(args []string) error {
	if len(args) == 0 {
		return usageError("relay needs a kind: relay tcp [--bind ADDR] --port P | relay unix --path PATH [--owner USER]")
	}
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bind := fs.String("bind", "127.0.0.1", "address to listen on")
	port := fs.String("port", "", "port to listen on (0: any free port)")
	path := fs.String("path", "", "unix socket path")
	owner := fs.String("owner", "", "user who owns the unix socket (the relay may run as root)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("relay %s: %v", args[0], err)
	}
	if fs.NArg() > 0 {
		return usageError("relay %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	r := &relay{out: os.Stdout, conns: map[uint32]*relayConn{}, done: make(chan error, 1)}
	var err error
	switch args[0] {
	case "tcp":
		p, perr := strconv.Atoi(*port)
		if *port == "" || perr != nil || p < 0 || p > 65535 {
			return usageError("relay tcp needs --port between 0 and 65535")
		}
		r.ln, err = net.Listen("tcp", net.JoinHostPort(*bind, strconv.Itoa(p)))
	case "unix":
		if *path == "" {
			return usageError("relay unix needs --path")
		}
		r.ln, err = listenUnix(*path)
		if err == nil {
			r.path = *path
			err = chownTo(*path, *owner)
		}
		if err != nil && r.ln != nil {
			r.ln.Close()
			os.Remove(*path)
		}
	default:
		return usageError("unknown relay kind %q: use tcp or unix", args[0])
	}
	if err != nil {
		r.send(frameFail, 0, []byte(oneLine(err.Error())))
		return failed("could not listen: %v", err)
	}
	return r.serve()
}

// listenUnix listens on path, replacing a stale socket a killed relay left behind (but never
// a live one or a file that is not a socket), readable only by its owner: it may carry an
// SSH agent.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, derr := net.Dial("unix", path); derr == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another listener", path)
		}
		os.Remove(path)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln, nil
}

// chownTo gives the socket to owner (an ssh -A socket must be usable by the workspace's user,
// and only by them); nothing to do without --owner.
func chownTo(path, owner string) error {
	if owner == "" {
		return nil
	}
	acct, err := supervisor.LookupUser(owner)
	if err != nil {
		return err
	}
	return os.Chown(path, int(acct.UID), int(acct.GID))
}

// serve announces READY, then accepts and reads stdin until stdin ends or breaks the rules.
func (r *relay) serve() error {
	var ready []byte
	if r.path != "" {
		ready, _ = json.Marshal(map[string]string{"path": r.path})
	} else {
		ready, _ = json.Marshal(map[string]int{"port": r.ln.Addr().(*net.TCPAddr).Port})
	}
	r.send(frameReady, 0, ready)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() { <-sigs; r.finish(nil) }()
	go r.acceptLoop()
	go r.readStdin()
	err := <-r.done
	r.shutdown()
	return err
}

// finish ends the relay once, with the first reason given (nil: a clean end).
func (r *relay) finish(err error) {
	r.doneOnce.Do(func() { r.done <- err })
}

func (r *relay) shutdown() {
	r.ln.Close()
	if r.path != "" {
		os.Remove(r.path)
	}
	r.mu.Lock()
	conns := r.conns
	r.conns = map[uint32]*relayConn{}
	r.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

func (r *relay) acceptLoop() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// The listener was closed (we are ending), or it broke: either way no more connections.
			r.finish(nil)
			return
		}
		r.mu.Lock()
		r.nextID++
		id := r.nextID
		rc := newRelayConn(r, id, c)
		r.conns[id] = rc
		r.mu.Unlock()
		peer, _ := json.Marshal(map[string]string{"peer": c.RemoteAddr().String()})
		r.send(frameOpen, id, peer)
		rc.start()
	}
}

// readStdin applies each frame from the other side; stdin's end is the relay's clean end.
func (r *relay) readStdin() {
	in := bufio.NewReaderSize(os.Stdin, 128*1024)
	for {
		f, err := readFrame(in)
		if err == io.EOF {
			r.finish(nil)
			return
		}
		if err != nil {
			r.finish(failed("%v", err))
			return
		}
		if f.typ == frameReady || f.typ == frameFail || f.typ == frameOpen {
			r.finish(failed("%v: frame type 0x%02x is only sent by the relay", errProtocol, f.typ))
			return
		}
		r.mu.Lock()
		c := r.conns[f.id]
		r.mu.Unlock()
		if c == nil {
			// Frames can cross a CLOSE in flight; those for a connection already gone are dropped.
			continue
		}
		if err := c.onFrame(f); err != nil {
			r.finish(err)
			return
		}
	}
}

// send writes one frame to stdout; a stdout that is gone ends the relay.
func (r *relay) send(typ byte, id uint32, payload []byte) {
	buf := encodeFrame(typ, id, payload)
	r.outMu.Lock()
	_, err := r.out.Write(buf)
	r.outMu.Unlock()
	if err != nil && r.done != nil {
		r.finish(nil)
	}
}

func (r *relay) forget(id uint32) {
	r.mu.Lock()
	delete(r.conns, id)
	r.mu.Unlock()
}
