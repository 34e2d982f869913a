package main

// `berth-in supervise [--daemon]`. With --daemon it starts a detached copy of itself (its own
// session, stdio on /dev/null, so it outlives the exec session and the agent) and returns once
// that copy answers on the control socket; when one already runs it returns at once.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"berth.dev/berth-in/supervisor"
)

// daemonStartTimeout bounds how long --daemon waits for its copy to answer.
const daemonStartTimeout = 10 * time.Second

func runSupervise(root string, args []string) error {
	daemon, detached := false, false
	for _, a := range args {
		switch a {
		case "--daemon":
			daemon = true
		case "--detached": // internal: this is the copy --daemon started
			detached = true
		default:
			return usageError("supervise takes only --daemon, not %q", a)
		}
	}
	p := supervisor.PathsFor(root)
	if daemon {
		return startDaemon(root, p)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "berth-in: "+format+"\n", a...) }
	if detached {
		own, err := supervisor.OpenLog(p.RunDir, "supervisor")
		if err != nil {
			return failed("cannot open %s: %v", p.Own, err)
		}
		defer own.Close()
		logf = func(format string, a ...any) { own.Line("stderr", []byte(fmt.Sprintf(format, a...))) }
	}
	err := supervisor.Run(p, logf)
	if errors.Is(err, supervisor.ErrRunning) {
		return failed("a supervisor is already running for %s (pid file %s)", root, p.Pid)
	}
	if err != nil {
		logf("%v", err)
		return failed("%v", err)
	}
	return nil
}

func startDaemon(root string, p supervisor.Paths) error {
	// A supervisor that holds the lock but does not answer yet is starting or exiting: wait
	// until it answers (done) or lets go of the lock (start our own).
	for deadline := time.Now().Add(daemonStartTimeout); ; time.Sleep(20 * time.Millisecond) {
		if ping(p) {
			return nil
		}
		lock, err := supervisor.Lock(p)
		if err == nil {
			lock.Close()
			break
		}
		if !errors.Is(err, supervisor.ErrRunning) {
			return failed("cannot use %s: %v", p.RunDir, err)
		}
		if time.Now().After(deadline) {
			return failed("a supervisor holds %s but does not answer on %s", p.Lock, p.Sock)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return failed("cannot find my own binary: %v", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return failed("%v", err)
	}
	defer devnull.Close()
	cmd := exec.Command(self, "--root", root, "supervise", "--detached")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return failed("cannot start the supervisor: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(daemonStartTimeout)
	for time.Now().Before(deadline) {
		if ping(p) {
			return nil
		}
		select {
		case <-exited:
			// It may have lost the lock to a supervisor started at the same moment.
			if ping(p) {
				return nil
			}
			if lock, err := supervisor.Lock(p); err != nil && waitPing(p, 2*time.Second) {
				return nil
			} else if err == nil {
				lock.Close()
			}
			return failed("the supervisor exited at once: %s", lastLine(p.Own))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return failed("the supervisor did not answer on %s within %s: %s", p.Sock, daemonStartTimeout, lastLine(p.Own))
}

func waitPing(p supervisor.Paths, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ping(p) {
			return true
		}
	}
	return false
}

// ping says whether a supervisor answers status on the control socket.
func ping(p supervisor.Paths) bool {
	r, err := request(p, supervisor.Request{Cmd: "status"})
	return err == nil && r.OK
}

// lastLine is the last line of a log, for an error message.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	// Stored as `TIME stream text`: the text is what explains.
	if f := strings.SplitN(lines[len(lines)-1], " ", 3); len(f) == 3 {
		return f[2]
	}
	return lines[len(lines)-1]
}
