package supervisor

// Each service's output goes to ROOT/logs/NAME.log, one line per output line:
// `RFC3339Nano stdout|stderr text`. Files are bounded (1 MiB, rotated to .1 and .2, so 3 per
// service) because a chatty service must not fill the workspace's disk.

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

const (
	defaultLogMaxBytes = 1 << 20
	logFilesKept       = 3
	// maxLineBytes splits longer lines, so one endless line cannot grow a buffer without end.
	maxLineBytes = 16 * 1024
)

// logMaxBytes is the size limit per file; BERTH_IN_LOG_MAX_BYTES lowers it for tests.
func logMaxBytes() int64 {
	if n, err := strconv.ParseInt(os.Getenv("BERTH_IN_LOG_MAX_BYTES"), 10, 64); err == nil && n >= 128 {
		return n
	}
	return defaultLogMaxBytes
}

// LogPath is where a service's current log file is.
func LogPath(dir, service string) string { return filepath.Join(dir, service+".log") }

// LogWriter appends timestamped lines to one service's log, rotating at the size limit.
type LogWriter struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// OpenLog opens (appending) the log of service.
func OpenLog(dir, service string) (*LogWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &LogWriter{path: LogPath(dir, service), max: logMaxBytes()}
	return w, w.open()
}

func (w *LogWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Line writes one line of stream ("stdout" or "stderr").
func (w *LogWriter) Line(stream string, text []byte) {
	line := make([]byte, 0, len(text)+48)
	line = time.Now().UTC().AppendFormat(line, time.RFC3339Nano)
	line = append(line, ' ')
	line = append(line, stream...)
	line = append(line, ' ')
	line = append(line, text...)
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return
	}
	if w.size > 0 && w.size+int64(len(line)) > w.max {
		w.rotate()
	}
	if n, err := w.f.Write(line); err == nil {
		w.size += int64(n)
	}
}

// rotate shifts NAME.log → .1 → .2, dropping the oldest.
func (w *LogWriter) rotate() {
	w.f.Close()
	w.f = nil
	for i := logFilesKept - 1; i >= 1; i-- {
		from := w.path
		if i > 1 {
			from = w.path + "." + strconv.Itoa(i-1)
		}
		os.Rename(from, w.path+"."+strconv.Itoa(i))
	}
	w.open()
}

// Pump copies r into the log line by line until r ends (a final partial line included).
func (w *LogWriter) Pump(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			w.Line(stream, line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// Close closes the file.
func (w *LogWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
