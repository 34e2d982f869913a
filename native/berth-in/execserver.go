package main

// `berth-in exec-server --workspace ID [--socket PATH] [--daemon]`: a resident server inside a
// Docker workspace that runs commands for the agent without the engine's exec machinery
// (dockerd → containerd → runc exec, ~80 ms a command). It runs inside the container, started
// by one engine exec, so its children get the container's cgroup, capabilities, seccomp and
// AppArmor profile, environment and working directory exactly as an engine exec's would. The
// socket is root's alone (directory 0700, socket 0600). Every connection is greeted with a
// hello naming the workspace the server was started for, so the agent, which dials it through
// /proc/PID/root, never talks to another container's server after a PID was reused.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const defaultExecSocket = "/run/berth/exec.sock"

// execHelloMsg is the hello's payload.
type execHelloMsg struct {
	Workspace string `json:"workspace"`
	Version   string `json:"version"`
}

// execServerOpts are exec-server's arguments.
type execServerOpts struct {
	socket, workspace string
	daemon, detached  bool
}

func parseExecServerArgs(args []string) (execServerOpts, error) {
	o := execServerOpts{socket: defaultExecSocket}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--daemon":
			o.daemon = true
		case a == "--detached": // internal: this is the copy --daemon started
			o.detached = true
		case (a == "--socket" || a == "--workspace") && i+1 < len(args):
			if a == "--socket" {
				o.socket = args[i+1]
			} else {
				o.workspace = args[i+1]
			}
			i++
		default:
			return o, usageError("exec-server takes --workspace ID [--socket PATH] [--daemon], not %q", a)
		}
	}
	if o.workspace == "" || len(o.workspace) > 256 {
		return o, usageError("exec-server needs --workspace ID")
	}
	if !filepath.IsAbs(o.socket) {
		return o, usageError("--socket needs an absolute path")
	}
	return o, nil
}

func runExecServer(args []string) error {
	o, err := parseExecServerArgs(args)
	if err != nil {
		return err
	}
	if o.daemon {
		return startExecDaemon(o)
	}
	return serveExec(o)
}

// helloFrom dials a socket and reads its hello; the workspace it names, or an error.
func helloFrom(socket string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	f, err := readExecFrame(conn)
	if err != nil {
		return "", err
	}
	var h execHelloMsg
	if f.typ != execHello || json.Unmarshal(f.payload, &h) != nil {
		return "", fmt.Errorf("%s answered with something other than a hello", socket)
	}
	return h.Workspace, nil
}

// startExecDaemon starts a detached server (own session, stdio on /dev/null, the working
// directory kept: it is the default directory of every command) and returns once it answers.
func startExecDaemon(o execServerOpts) error {
	if ws, err := helloFrom(o.socket, time.Second); err == nil {
		if ws == o.workspace {
			return nil
		}
		return failed("a server for workspace %q already listens on %s", ws, o.socket)
	}
	self, err := os.Executable()
	if err != nil {
		return failed("cannot find my own binary: %v", err)
	}
	if copied, path, err := memfdCopyOfSelf(); err == nil {
		defer copied.Close()
		self = path
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return failed("%v", err)
	}
	defer devnull.Close()
	cmd := exec.Command(self, "exec-server", "--detached", "--socket", o.socket, "--workspace", o.workspace)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return failed("cannot start the exec server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(daemonStartTimeout); time.Now().Before(deadline); {
		if ws, err := helloFrom(o.socket, time.Second); err == nil && ws == o.workspace {
			return nil
		}
		select {
		case <-exited:
			// It may have lost the lock to a server started at the same moment.
			if ws, err := helloFrom(o.socket, time.Second); err == nil && ws == o.workspace {
				return nil
			}
			return failed("the exec server exited at once")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return failed("the exec server did not answer on %s within %s", o.socket, daemonStartTimeout)
}

// serveExec listens until killed; one server per socket (a lock beside it decides).
func serveExec(o execServerOpts) error {
	setProcessName("berth-in")
	dir := filepath.Dir(o.socket)
	if err := privateDir(dir); err != nil {
		return failed("%v", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "exec.lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return failed("cannot open the lock in %s: %v", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return failed("another exec server holds %s", lock.Name())
	}
	base := execBase{env: os.Environ(), dir: "/", workspace: o.workspace}
	if wd, err := os.Getwd(); err == nil {
		base.dir = wd
	}
	// A socket left by a server from before the container's restart: nobody listens on it.
	if err := os.Remove(o.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return failed("cannot remove the old socket %s: %v", o.socket, err)
	}
	old := syscall.Umask(0o177) // the socket is born 0600: no moment where others may connect
	ln, err := net.Listen("unix", o.socket)
	syscall.Umask(old)
	if err != nil {
		return failed("cannot listen on %s: %v", o.socket, err)
	}
	defer ln.Close()
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: do not spin
			continue
		}
		go serveExecConn(conn, base)
	}
}

// privateDir makes dir a root-only directory (0700, owned by us), refusing a symlink or a non-directory.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot make %s: %v", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := os.Chown(dir, os.Getuid(), os.Getgid()); err != nil {
		return fmt.Errorf("cannot own %s: %v", dir, err)
	}
	return os.Chmod(dir, 0o700)
}

// execBase is what every command starts from: the server's own environment and directory,
// which are those an engine exec gets (the server was started by one, with nothing added).
type execBase struct {
	env       []string
	dir       string
	workspace string
}

// mergeEnv applies additions over a NAME=VALUE list, replacing a name in place, appending new
// names in sorted order (a stable environment for the same request).
func mergeEnv(base []string, add map[string]string, names []string) []string {
	out := make([]string, 0, len(base)+len(add))
	seen := map[string]bool{}
	for _, kv := range base {
		name := kv
		if i := strings.IndexByte(kv, '='); i >= 0 {
			name = kv[:i]
		}
		if v, ok := add[name]; ok {
			if !seen[name] {
				out = append(out, name+"="+v)
				seen[name] = true
			}
			continue
		}
		out = append(out, kv)
	}
	for _, name := range names {
		if !seen[name] {
			out = append(out, name+"="+add[name])
			seen[name] = true
		}
	}
	return out
}

// lookupEnv reads NAME from a NAME=VALUE list (first wins, as getenv).
func lookupEnv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

// errNotFound is a command that is not there: exit 127, as a shell says.
var errNotFound = errors.New("executable file not found in $PATH")

// resolveCommand finds name as the engine's runtime does: a name with a slash is used as it
// is (relative to dir), else the first executable regular file in the command's own PATH.
func resolveCommand(name, path, dir string) (string, error) {
	if name == "" {
		return "", errNotFound
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		candidate := filepath.Join(d, name)
		if st, err := os.Stat(candidate); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", errNotFound
}
