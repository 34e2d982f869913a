package supervisor

// Starting a service's process: in its own process group (so stop reaches everything it
// started), as the workspace's user, with the workspace's env under its own, output into its
// log. Stopping: SIGTERM to the group, SIGKILL after the grace.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultStopGrace is how long a service has between SIGTERM and SIGKILL.
const defaultStopGrace = 10 * time.Second

// stopGrace is defaultStopGrace; BERTH_IN_STOP_GRACE_MS shortens it for tests.
func stopGrace() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("BERTH_IN_STOP_GRACE_MS")); err == nil && n > 0 {
		return time.Duration(n) * time.Millisecond
	}
	return defaultStopGrace
}

type proc struct {
	cmd  *exec.Cmd
	pid  int
	kill *time.Timer
}

// runSpec is how to run a command for a service (its process or a cmd health check).
type runSpec struct {
	env  []string
	dir  string
	cred *syscall.Credential
}

// runSpecFor works out env, directory and credentials; an error when the user is unknown.
func (sup *Supervisor) runSpecFor(def Service) (runSpec, error) {
	rs := runSpec{dir: "/"}
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
	if h := os.Getenv("HOME"); h != "" {
		env["HOME"] = h
	}
	if u := sup.cfg.User; u != nil && *u != "" {
		acct, err := LookupUser(*u)
		if err != nil {
			return rs, err
		}
		if os.Getuid() == 0 {
			rs.cred = &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: acct.Groups}
		} else if uint32(os.Getuid()) != acct.UID {
			return rs, fmt.Errorf("the supervisor runs as uid %d and cannot run services as %s", os.Getuid(), *u)
		}
		env["HOME"], env["USER"], env["LOGNAME"] = acct.Home, acct.Name, acct.Name
		if acct.Home != "" {
			rs.dir = acct.Home
		}
	}
	for k, v := range sup.cfg.Env {
		env[k] = v
	}
	for k, v := range def.Env {
		env[k] = v
	}
	if def.Workdir != nil && *def.Workdir != "" {
		rs.dir = *def.Workdir
	}
	if _, err := os.Stat(rs.dir); err != nil {
		if def.Workdir == nil {
			rs.dir = "/"
		} else {
			return rs, fmt.Errorf("working directory %s: %v", rs.dir, err)
		}
	}
	for k, v := range env {
		rs.env = append(rs.env, k+"="+v)
	}
	return rs, nil
}

// command builds an exec.Cmd for argv under rs, leading its own process group.
func (rs runSpec) command(argv []string) *exec.Cmd {
	cmd := &exec.Cmd{Path: argv[0], Args: argv}
	if lp, err := lookPath(argv[0], rs.env); err == nil {
		cmd.Path = lp
	} else {
		cmd.Err = err
	}
	cmd.Env, cmd.Dir = rs.env, rs.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: rs.cred}
	return cmd
}

// lookPath resolves a bare command name in the service's PATH (not the supervisor's); a
// name with a slash is used as given.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[5:]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH", name)
}

// exitStatus turns a Wait result into a shell-style code (128+signal when killed).
func exitStatus(ps *os.ProcessState, err error) int {
	if ps == nil {
		return 127
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		syscall.Kill(-pid, sig)
	}
}
