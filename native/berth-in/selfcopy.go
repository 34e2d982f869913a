package main

// The exec server runs from an in-memory copy of berth-in (memfd), not from
// /.berth/bin/berth-in: a running binary cannot be written over ("text file busy"), and
// whoever replaces the workspace's berth-in must never trip over a resident server.

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Linux/amd64 numbers (berth-in is built for linux/amd64 only); Go 1.19's syscall lacks the first.
const (
	sysMemfdCreate = 319
	prSetName      = 15
)

// memfdCopyOfSelf copies this binary into an anonymous in-memory file; the path to exec it by
// (valid while the returned file stays open), or an error.
func memfdCopyOfSelf() (*os.File, string, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, "", err
	}
	defer self.Close()
	name := []byte("berth-in\x00")
	fd, _, errno := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(&name[0])), 1 /* MFD_CLOEXEC */, 0)
	if errno != 0 {
		return nil, "", errno
	}
	f := os.NewFile(fd, "memfd:berth-in")
	if _, err := io.Copy(f, self); err != nil {
		f.Close()
		return nil, "", err
	}
	return f, fmt.Sprintf("/proc/self/fd/%d", fd), nil
}

// setProcessName sets the name ps and /proc/PID/comm show (exec by /proc/self/fd/N names it "N").
func setProcessName(name string) {
	b := append([]byte(name), 0)
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetName, uintptr(unsafe.Pointer(&b[0])), 0)
}
