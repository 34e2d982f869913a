package supervisor

// Run: take the root's lock (one supervisor per root), write the pid file, open the control
// socket, run the services, and on ctl shutdown or SIGTERM stop them all and clean up.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrRunning means another supervisor holds the root's lock.
var ErrRunning = errors.New("a supervisor is already running for this root")

// Lock takes the root's supervisor lock without waiting; ErrRunning when it is held. The
// returned file must stay open for as long as the lock is meant to be held.
func Lock(p Paths) (*os.File, error) {
	if err := os.MkdirAll(p.RunDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p.Lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrRunning
		}
		return nil, err
	}
	return f, nil
}

// Run supervises p's services until shutdown; logf gets the supervisor's own messages.
func Run(p Paths, logf func(string, ...any)) error {
	lock, err := Lock(p)
	if err != nil {
		return err
	}
	defer lock.Close()
	cfg, err := LoadConfig(p.Config)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.LogDir, 0o755); err != nil {
		return err
	}
	// We hold the lock: a socket file left here is a dead supervisor's.
	os.Remove(p.Sock)
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", p.Sock)
	syscall.Umask(old)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", p.Sock, err)
	}
	if err := os.WriteFile(p.Pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		ln.Close()
		return err
	}
	sup := New(p, cfg, logf)
	quit := make(chan struct{})
	loopDone := make(chan struct{})
	go func() { sup.loop(quit); close(loopDone) }()

	var once sync.Once
	finished := make(chan struct{})
	shutdown := func() error {
		once.Do(func() {
			logf("shutting down")
			sup.shutdownAll()
			// No new requests from here on; replies to the ones in flight still go out.
			ln.Close()
			os.Remove(p.Sock)
			close(finished)
		})
		<-finished
		return nil
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// The exec session that started us may end and hang up; that is no reason to stop.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	go func() { <-sigs; shutdown() }()
	go sup.serve(ln, shutdown)
	logf("supervising %d services (config %s), pid %d", len(cfg.Services), cfg.Hash(), os.Getpid())

	<-finished
	// Let the shutdown's reply reach its ctl client before the process goes.
	time.Sleep(50 * time.Millisecond)
	os.Remove(p.Pid)
	sup.do(func() {})
	sup.watchers.close()
	close(quit)
	<-loopDone
	return nil
}
