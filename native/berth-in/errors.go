package main

// Every failure leaves as one line `berth-in: CODE: message` and a fixed exit status, so the
// agent (and the other helpers that drive this binary through exec) can branch on the status
// without parsing text.

import (
	"errors"
	"fmt"
	"os"
)

const (
	exitOK             = 0
	exitFailed         = 1
	exitUsage          = 2
	exitNoSupervisor   = 3
	exitUnknownService = 4
)

// cliError is an error with the exit status and the word printed as CODE.
type cliError struct {
	status int
	code   string
	msg    string
}

func (e *cliError) Error() string { return e.msg }

func usageError(format string, a ...any) error {
	return &cliError{exitUsage, "usage", fmt.Sprintf(format, a...)}
}

func failed(format string, a ...any) error {
	return &cliError{exitFailed, "failed", fmt.Sprintf(format, a...)}
}

func noSupervisor(root string) error {
	return &cliError{exitNoSupervisor, "no-supervisor", fmt.Sprintf("no supervisor is running for %s; start one with `berth-in supervise --daemon`", root)}
}

func unknownService(name string) error {
	return &cliError{exitUnknownService, "unknown-service", fmt.Sprintf("there is no service named %q in services.json", name)}
}

// exitWith prints err (if any) in the one-line form and ends the process with its status.
func exitWith(err error) {
	if err == nil {
		os.Exit(exitOK)
	}
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = &cliError{exitFailed, "failed", err.Error()}
	}
	fmt.Fprintf(os.Stderr, "berth-in: %s: %s\n", ce.code, oneLine(ce.msg))
	os.Exit(ce.status)
}

// oneLine keeps a message on one line: callers read stderr line by line.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
