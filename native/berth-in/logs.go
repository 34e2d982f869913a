package main

// `berth-in ctl logs SERVICE [--follow] [--since DURATION|RFC3339] [--tail N] [--timestamps]`:
// read from the service's log files directly (this runs in the same workspace), asking the
// supervisor only whether the service exists and, with --follow, when it has gone.

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth-in/supervisor"
)

func ctlLogs(p supervisor.Paths, root string, args []string) error {
	q := supervisor.LogQuery{Tail: -1}
	follow := false
	service := ""
	value := func(i *int, name string) (string, error) {
		a := args[*i]
		if strings.HasPrefix(a, name+"=") {
			return a[len(name)+1:], nil
		}
		if *i+1 >= len(args) {
			return "", usageError("%s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--follow" || a == "-f":
			follow = true
		case a == "--timestamps" || a == "-t":
			q.Timestamps = true
		case a == "--since" || strings.HasPrefix(a, "--since="):
			v, err := value(&i, "--since")
			if err != nil {
				return err
			}
			if q.Since, err = parseSince(v); err != nil {
				return err
			}
		case a == "--tail" || strings.HasPrefix(a, "--tail="):
			v, err := value(&i, "--tail")
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return usageError("--tail needs a number of lines, not %q", v)
			}
			q.Tail = n
		case strings.HasPrefix(a, "-"):
			return usageError("ctl logs: unknown option %q", a)
		case service == "":
			service = a
		default:
			return usageError("ctl logs takes one SERVICE")
		}
	}
	if service == "" {
		return usageError("ctl logs needs a SERVICE")
	}
	if err := knownService(p, root, service); err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	cur, err := supervisor.ReadLogs(p.LogDir, service, q, out)
	if err != nil {
		return nil // stdout closed: the reader is gone
	}
	out.Flush()
	if !follow {
		if cur != nil {
			cur.Close()
		}
		return nil
	}
	// Follow until the supervisor ends (its watch stream closes) or we are killed.
	stop := make(chan struct{})
	go func() {
		watch(p, root, func([]byte) error { return nil })
		close(stop)
	}()
	flushing := &lineFlusher{w: out}
	supervisor.FollowLogs(p.LogDir, service, q, flushing, stop, cur)
	return nil
}

// parseSince reads a duration back from now (10m, 1h30m) or an RFC 3339 time.
func parseSince(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, usageError("--since needs a duration (10m, 1h) or an RFC 3339 time, not %q", v)
}

// lineFlusher flushes after each write, so followed lines appear as they come.
type lineFlusher struct{ w *bufio.Writer }

func (l *lineFlusher) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if err == nil {
		err = l.w.Flush()
	}
	return n, err
}
