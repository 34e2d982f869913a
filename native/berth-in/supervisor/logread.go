package supervisor

// Reading a service's logs back for `berth-in ctl logs`: oldest file first, filtered by
// --since, cut to --tail, and --follow by polling the current file (and noticing rotation).

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"time"
)

// LogQuery says which lines to print and how.
type LogQuery struct {
	Since      time.Time // zero: from the start
	Tail       int       // < 0: all
	Timestamps bool
}

// parsed splits a stored line; ok is false for a line not in the stored form.
func parsed(line []byte) (ts time.Time, text []byte, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return time.Time{}, line, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:sp]))
	if err != nil {
		return time.Time{}, line, false
	}
	rest := line[sp+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 {
		return t, nil, true
	}
	return t, rest[sp2+1:], true
}

func (q LogQuery) keep(line []byte) bool {
	if q.Since.IsZero() {
		return true
	}
	ts, _, ok := parsed(line)
	return ok && !ts.Before(q.Since)
}

func (q LogQuery) write(out io.Writer, line []byte) error {
	if !q.Timestamps {
		if _, text, ok := parsed(line); ok {
			line = text
		}
	}
	if _, err := out.Write(line); err != nil {
		return err
	}
	_, err := out.Write([]byte{'\n'})
	return err
}

// ReadLogs prints the stored lines of service that match q. It returns the current file
// (nil when there is none) open where its reading stopped, for FollowLogs to go on from.
func ReadLogs(dir, service string, q LogQuery, out io.Writer) (*os.File, error) {
	path := LogPath(dir, service)
	var lines [][]byte
	var current *os.File
	for i := logFilesKept - 1; i >= 0; i-- {
		p := path
		if i > 0 {
			p = path + "." + strconv.Itoa(i)
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(f)
		if i == 0 {
			current = f
		} else {
			f.Close()
		}
		if err != nil {
			continue
		}
		// A last line still being written is left for FollowLogs.
		if i == 0 && len(data) > 0 && data[len(data)-1] != '\n' {
			cut := bytes.LastIndexByte(data, '\n') + 1
			current.Seek(int64(cut), io.SeekStart)
			data = data[:cut]
		}
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			if len(l) > 0 && q.keep(l) {
				lines = append(lines, l)
			}
		}
	}
	if q.Tail >= 0 && len(lines) > q.Tail {
		lines = lines[len(lines)-q.Tail:]
	}
	w := bufio.NewWriter(out)
	for _, l := range lines {
		if err := q.write(w, l); err != nil {
			return current, err
		}
	}
	return current, w.Flush()
}

// FollowLogs prints lines appended to service's log after from (the file ReadLogs returned;
// nil: from the start of the file once it exists), until stop closes (then it reads what is
// left once more).
func FollowLogs(dir, service string, q LogQuery, out io.Writer, stop <-chan struct{}, from *os.File) error {
	path := LogPath(dir, service)
	f := from
	var pending []byte
	openCurrent := func() {
		if nf, err := os.Open(path); err == nil {
			f = nf
		}
	}
	drain := func() error {
		if f == nil {
			return nil
		}
		buf := make([]byte, 32*1024)
		for {
			n, err := f.Read(buf)
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				if l := pending[:i]; len(l) > 0 && q.keep(l) {
					if werr := q.write(out, l); werr != nil {
						return werr
					}
				}
				pending = pending[i+1:]
			}
			if n == 0 || err != nil {
				return nil
			}
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := drain(); err != nil {
			return err
		}
		// Rotated (or created since): finish the old file, then read the new one from its start.
		if cur, err := os.Stat(path); err == nil {
			var same bool
			if f != nil {
				if fi, err := f.Stat(); err == nil {
					same = os.SameFile(fi, cur)
				}
			}
			if !same {
				if err := drain(); err != nil {
					return err
				}
				if f != nil {
					f.Close()
				}
				f, pending = nil, nil
				openCurrent()
				continue
			}
		}
		select {
		case <-stop:
			return drain()
		case <-tick.C:
		}
	}
}
