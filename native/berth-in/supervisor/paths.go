// Package supervisor runs a workspace's services from ROOT/services.json with compose's
// semantics (dependency conditions, health checks, restart policies) and answers `berth-in ctl`
// on a unix socket. One supervisor per root, held by a flock on ROOT/run/supervisor.lock.
package supervisor

import "path/filepath"

// Paths are the files under one root (contract: docs/berth-in.md, "Files").
type Paths struct {
	Root   string
	Config string
	RunDir string
	Lock   string
	Pid    string
	Sock   string
	LogDir string
	// Own is the supervisor's own log (its stdio goes to /dev/null when it runs as a daemon).
	Own string
}

// PathsFor lays the files out under root.
func PathsFor(root string) Paths {
	run := filepath.Join(root, "run")
	return Paths{
		Root:   root,
		Config: filepath.Join(root, "services.json"),
		RunDir: run,
		Lock:   filepath.Join(run, "supervisor.lock"),
		Pid:    filepath.Join(run, "supervisor.pid"),
		Sock:   filepath.Join(run, "ctl.sock"),
		LogDir: filepath.Join(root, "logs"),
		Own:    filepath.Join(run, "supervisor.log"),
	}
}
