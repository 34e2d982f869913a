package supervisor

// Services run as the workspace's user, looked up in the workspace's own /etc/passwd and
// /etc/group: os/user needs cgo or libc's NSS, and the image may have neither.

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Account is what a process needs to run as a user.
type Account struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// passwdFile and groupFile are variables so a test could point them elsewhere.
var (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

// LookupUser finds name in /etc/passwd (and its supplementary groups in /etc/group).
func LookupUser(name string) (*Account, error) {
	f, err := os.Open(passwdFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s to find user %s: %v", passwdFile, name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("the %s line for %s has no numeric uid/gid", passwdFile, name)
		}
		a := &Account{Name: name, UID: uint32(uid), GID: uint32(gid), Home: fields[5]}
		a.Groups = supplementaryGroups(name, a.GID)
		return a, nil
	}
	return nil, fmt.Errorf("there is no user %s in %s", name, passwdFile)
}

func supplementaryGroups(name string, primary uint32) []uint32 {
	groups := []uint32{primary}
	f, err := os.Open(groupFile)
	if err != nil {
		return groups
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 {
			continue
		}
		for _, m := range strings.Split(fields[3], ",") {
			if m == name {
				if gid, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(gid) != primary {
					groups = append(groups, uint32(gid))
				}
			}
		}
	}
	return groups
}
