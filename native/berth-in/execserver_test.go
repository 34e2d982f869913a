package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// startTestServer runs an exec server on a socket in a temp dir for the test's lifetime.
func startTestServer(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "run", "exec.sock")
	go serveExec(execServerOpts{socket: sock, workspace: "ws-test"})
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ws, err := helloFrom(sock, time.Second); err == nil {
			if ws != "ws-test" {
				t.Fatalf("hello names %q", ws)
			}
			return sock
		}
	}
	t.Fatal("the exec server did not answer")
	return ""
}

type execResult struct {
	stdout, stderr string
	code           int
}

// runExec sends one request (then stdin and EOF) and collects everything until the exit frame.
func runExec(t *testing.T, sock string, req execReq, stdin string, after func(net.Conn)) execResult {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if f, err := readExecFrame(conn); err != nil || f.typ != execHello {
		t.Fatalf("no hello: %v", err)
	}
	body, _ := json.Marshal(req)
	conn.Write(encodeFrame(execRequest, 0, body))
	if after != nil {
		after(conn)
	}
	if stdin != "" {
		conn.Write(encodeFrame(execStdin, 0, []byte(stdin)))
	}
	conn.Write(encodeFrame(execEOF, 0, nil))
	var r execResult
	for {
		f, err := readExecFrame(conn)
		if err != nil {
			t.Fatalf("stream ended without an exit frame: %v (so far %+v)", err, r)
		}
		switch f.typ {
		case execStdout:
			r.stdout += string(f.payload)
		case execStderr:
			r.stderr += string(f.payload)
		case execExit:
			var e struct{ Code int }
			json.Unmarshal(f.payload, &e)
			r.code = e.Code
			return r
		}
	}
}

func TestExecServerStreamsAndCodes(t *testing.T) {
	sock := startTestServer(t)
	r := runExec(t, sock, execReq{Cmd: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}}, "", nil)
	if r != (execResult{"out\n", "err\n", 3}) {
		t.Fatalf("got %+v", r)
	}
	if r := runExec(t, sock, execReq{Cmd: []string{"cat"}}, "fed in\n", nil); r.stdout != "fed in\n" || r.code != 0 {
		t.Fatalf("stdin: %+v", r)
	}
	if r := runExec(t, sock, execReq{Cmd: []string{"berth-no-such-command"}}, "", nil); r.code != 127 {
		t.Fatalf("not found: %+v", r)
	}
	if r := runExec(t, sock, execReq{Cmd: []string{"/etc/passwd"}}, "", nil); r.code != 126 {
		t.Fatalf("cannot run: %+v", r)
	}
	if r := runExec(t, sock, execReq{Cmd: []string{"/bin/sh", "-c", "kill -TERM $$"}}, "", nil); r.code != 143 {
		t.Fatalf("signal: %+v", r)
	}
	r = runExec(t, sock, execReq{Cmd: []string{"/bin/sh", "-c", `echo "$FOO|$(pwd)"`}, Env: map[string]string{"FOO": "bar baz"}, Cwd: "/tmp"}, "", nil)
	if r.stdout != "bar baz|/tmp\n" {
		t.Fatalf("env/cwd: %+v", r)
	}
}

func TestExecServerTerminal(t *testing.T) {
	sock := startTestServer(t)
	resize := func(c net.Conn) {
		p := make([]byte, 4)
		binary.BigEndian.PutUint16(p[0:2], 100)
		binary.BigEndian.PutUint16(p[2:4], 30)
		c.Write(encodeFrame(execResize, 0, p))
		time.Sleep(100 * time.Millisecond)
	}
	r := runExec(t, sock, execReq{Cmd: []string{"/bin/sh", "-c", "sleep 0.3; stty size; tty; echo $TERM; exit 5"}, Tty: true, Cols: 80, Rows: 24}, "", resize)
	if r.code != 5 || !strings.Contains(r.stdout, "30 100") || !strings.Contains(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "xterm") || r.stderr != "" {
		t.Fatalf("tty: %+v", r)
	}
}

func TestExecFramesRefuseGarbage(t *testing.T) {
	if _, err := readExecFrame(bytes.NewReader(encodeFrame(frameData, 0, []byte("x")))); err == nil {
		t.Fatal("a relay frame was accepted")
	}
	big := encodeFrame(execStdin, 0, nil)
	binary.BigEndian.PutUint32(big[5:9], maxPayload+1)
	if _, err := readExecFrame(bytes.NewReader(big)); err == nil {
		t.Fatal("an oversized frame was accepted")
	}
}

func TestMergeEnvAndResolve(t *testing.T) {
	got := mergeEnv([]string{"A=1", "PATH=/bin", "B=2"}, map[string]string{"B": "3", "C": "4"}, []string{"B", "C"})
	if !reflect.DeepEqual(got, []string{"A=1", "PATH=/bin", "B=3", "C=4"}) {
		t.Fatalf("merge: %v", got)
	}
	if p, err := resolveCommand("sh", "/nonexistent::/bin", "/"); err != nil || p != "/bin/sh" {
		t.Fatalf("resolve sh: %q %v", p, err)
	}
	if _, err := resolveCommand("berth-no-such", "/bin", "/"); err != errNotFound {
		t.Fatalf("resolve missing: %v", err)
	}
	sock := startTestServer(t)
	if st, err := os.Stat(filepath.Dir(sock)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", st.Mode(), err)
	}
}
