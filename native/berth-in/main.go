// Command berth-in is the helper berth copies into every workspace (/.berth/bin/berth-in):
// a service supervisor and the stdin/stdout relays behind ssh -R and ssh -A. It is one static
// binary with no dependency on the image (no shell, no libc), because workspaces run any image.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usageText = "usage: berth-in [--root DIR] version | supervise [--daemon] | ctl COMMAND ... | relay tcp|unix ... | exec-server --workspace ID [--socket PATH] [--daemon]"

func main() {
	// A write to a closed stdout must be an error we handle (the relay's peer went away), not
	// Go's default of dying by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	exitWith(run(os.Args[1:]))
}

// run parses the global options and dispatches to one command.
func run(args []string) error {
	root := os.Getenv("BERTH_IN_ROOT")
	if root == "" {
		root = "/.berth"
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "--root") {
		switch {
		case args[0] == "--root" && len(args) > 1:
			root, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "--root="):
			root, args = strings.TrimPrefix(args[0], "--root="), args[1:]
		default:
			return usageError("--root needs a directory")
		}
	}
	if root == "" {
		return usageError("--root needs a directory")
	}
	if len(args) == 0 {
		return usageError("%s", usageText)
	}
	switch args[0] {
	case "version":
		if len(args) != 1 {
			return usageError("version takes no arguments")
		}
		fmt.Printf("berth-in %s\n", version)
		return nil
	case "relay":
		return runRelay(args[1:])
	case "supervise":
		return runSupervise(root, args[1:])
	case "exec-server":
		return runExecServer(args[1:])
	case "ctl":
		return runCtl(root, args[1:])
	case "help", "--help", "-h":
		fmt.Println(usageText)
		return nil
	}
	return usageError("unknown command %q; %s", args[0], usageText)
}
