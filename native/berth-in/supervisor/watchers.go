package supervisor

// Watchers of the state (`ctl watch`): each gets the latest state line; one that reads slowly
// skips intermediate states rather than holding up the supervisor.

import "sync"

type watcher struct {
	mu     sync.Mutex
	latest []byte
	notify chan struct{}
}

type watchers struct {
	mu   sync.Mutex
	set  map[*watcher]bool
	last []byte
	done chan struct{}
}

func newWatchers() *watchers {
	return &watchers{set: map[*watcher]bool{}, done: make(chan struct{})}
}

func (ws *watchers) add() *watcher {
	w := &watcher{notify: make(chan struct{}, 1)}
	ws.mu.Lock()
	ws.set[w] = true
	w.latest = ws.last
	ws.mu.Unlock()
	w.notify <- struct{}{}
	return w
}

func (ws *watchers) remove(w *watcher) {
	ws.mu.Lock()
	delete(ws.set, w)
	ws.mu.Unlock()
}

func (ws *watchers) send(state []byte) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.last = state
	for w := range ws.set {
		w.mu.Lock()
		w.latest = state
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
}

// take returns the latest state for w.
func (w *watcher) take() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

// close ends every watch (the supervisor is exiting).
func (ws *watchers) close() {
	close(ws.done)
}
