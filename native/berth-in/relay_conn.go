package main

// One relayed connection: a reader that turns socket bytes into DATA frames within the window
// the other side granted, and a writer that drains queued DATA into the socket and grants the
// window back as it goes. The queue is bounded by our window, so a slow socket holds up only
// its own connection, never stdin.

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

type halfCloser interface{ CloseWrite() error }

type relayConn struct {
	r  *relay
	id uint32
	c  net.Conn

	mu         sync.Mutex
	cond       *sync.Cond
	sendWindow int      // DATA bytes we may still send
	queue      [][]byte // DATA from the other side not yet written to the socket
	queued     int      // bytes received and not yet granted back
	peerEOF    bool     // the other side will send no more
	wroteEOF   bool     // we have shut the socket's write side
	readEOF    bool     // the socket's reader saw its end (and we sent EOF)
	closed     bool

	// sendMu orders this connection's frames on stdout, and ended (set when CLOSE went out or
	// came in) keeps anything from following CLOSE. Neither is held with mu while writing
	// stdout, so a blocked stdout never keeps the stdin reader from taking mu.
	sendMu sync.Mutex
	ended  atomic.Bool
}

// sendFrame writes one of this connection's frames unless the connection has ended.
func (rc *relayConn) sendFrame(typ byte, payload []byte) {
	rc.sendMu.Lock()
	defer rc.sendMu.Unlock()
	if rc.ended.Load() {
		return
	}
	if typ == frameClose {
		rc.ended.Store(true)
	}
	rc.r.send(typ, rc.id, payload)
}

func newRelayConn(r *relay, id uint32, c net.Conn) *relayConn {
	rc := &relayConn{r: r, id: id, c: c, sendWindow: initialWindow}
	rc.cond = sync.NewCond(&rc.mu)
	return rc
}

func (rc *relayConn) start() {
	go rc.readLoop()
	go rc.writeLoop()
}

// onFrame applies a frame from stdin; an error breaks the protocol and ends the relay.
func (rc *relayConn) onFrame(f frame) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.closed {
		return nil
	}
	switch f.typ {
	case frameData:
		if rc.peerEOF {
			return fmt.Errorf("%w: DATA after EOF on connection %d", errProtocol, rc.id)
		}
		if rc.queued+len(f.payload) > initialWindow {
			return fmt.Errorf("%w: connection %d was sent more than its window", errProtocol, rc.id)
		}
		if len(f.payload) > 0 {
			rc.queue = append(rc.queue, f.payload)
			rc.queued += len(f.payload)
		}
	case frameEOF:
		rc.peerEOF = true
	case frameClose:
		rc.ended.Store(true)
		rc.closeLocked()
	case frameWindow:
		if len(f.payload) != 4 {
			return fmt.Errorf("%w: WINDOW payload must be 4 bytes", errProtocol)
		}
		n := int(binary.BigEndian.Uint32(f.payload))
		if rc.sendWindow+n > 1<<30 {
			return fmt.Errorf("%w: connection %d's window grew past 1 GiB", errProtocol, rc.id)
		}
		rc.sendWindow += n
	}
	rc.cond.Broadcast()
	return nil
}

func (rc *relayConn) readLoop() {
	buf := make([]byte, 32*1024)
	for {
		rc.mu.Lock()
		for rc.sendWindow == 0 && !rc.closed {
			rc.cond.Wait()
		}
		if rc.closed {
			rc.mu.Unlock()
			return
		}
		n := len(buf)
		if rc.sendWindow < n {
			n = rc.sendWindow
		}
		rc.mu.Unlock()
		got, err := rc.c.Read(buf[:n])
		if got > 0 {
			rc.mu.Lock()
			rc.sendWindow -= got
			closed := rc.closed
			rc.mu.Unlock()
			if closed {
				return
			}
			rc.sendFrame(frameData, buf[:got])
		}
		if err == io.EOF {
			rc.sendFrame(frameEOF, nil)
			rc.mu.Lock()
			rc.readEOF = true
			done := rc.finishIfDoneLocked()
			rc.mu.Unlock()
			if done {
				rc.sendFrame(frameClose, nil)
			}
			return
		}
		if err != nil {
			rc.closeAndTell()
			return
		}
	}
}

func (rc *relayConn) writeLoop() {
	for {
		rc.mu.Lock()
		for len(rc.queue) == 0 && !rc.peerEOF && !rc.closed {
			rc.cond.Wait()
		}
		if rc.closed {
			rc.mu.Unlock()
			return
		}
		if len(rc.queue) == 0 && rc.peerEOF {
			rc.wroteEOF = true
			if hc, ok := rc.c.(halfCloser); ok {
				hc.CloseWrite()
			}
			done := rc.finishIfDoneLocked()
			rc.mu.Unlock()
			if done {
				rc.sendFrame(frameClose, nil)
			}
			return
		}
		chunk := rc.queue[0]
		rc.queue = rc.queue[1:]
		rc.mu.Unlock()
		if _, err := rc.c.Write(chunk); err != nil {
			rc.closeAndTell()
			return
		}
		rc.mu.Lock()
		rc.queued -= len(chunk)
		closed := rc.closed
		rc.mu.Unlock()
		if closed {
			return
		}
		var grant [4]byte
		binary.BigEndian.PutUint32(grant[:], uint32(len(chunk)))
		rc.sendFrame(frameWindow, grant[:])
	}
}

// finishIfDoneLocked closes the connection once both directions have ended; true when the
// caller must now send CLOSE.
func (rc *relayConn) finishIfDoneLocked() bool {
	if rc.readEOF && rc.wroteEOF && !rc.closed {
		rc.closeLocked()
		return true
	}
	return false
}

// closeAndTell closes the connection after a socket error and tells the other side.
func (rc *relayConn) closeAndTell() {
	rc.mu.Lock()
	was := rc.closed
	rc.closeLocked()
	rc.mu.Unlock()
	if !was {
		rc.sendFrame(frameClose, nil)
	}
}

// closeLocked closes the socket once and forgets the connection.
func (rc *relayConn) closeLocked() {
	if rc.closed {
		return
	}
	rc.closed = true
	rc.queue = nil
	rc.c.Close()
	rc.cond.Broadcast()
	rc.r.forget(rc.id)
}
