package main

// The exec server's wire format: the relay's frame header (1 byte type, 4 bytes id, 4 bytes
// length, big endian; id is always 0 here) with its own types, so a relay frame sent to the
// exec socket (or the reverse) is refused as an unknown type. TS twin: src/providers/docker/exec-frames.ts.

import (
	"encoding/binary"
	"fmt"
	"io"
)

const (
	execHello   = 0x41 // server → client, first: JSON {"workspace":ID,"version":V}
	execRequest = 0x42 // client → server, once, after the hello: JSON execReq
	execStdin   = 0x43 // client → server: bytes for the command's stdin
	execEOF     = 0x44 // client → server: stdin ends
	execResize  = 0x45 // client → server: 4 bytes, cols and rows as big-endian uint16
	execSignal  = 0x46 // client → server: 1 byte, a signal number for the command's process group
	execStdout  = 0x47 // server → client: output (everything, with a tty)
	execStderr  = 0x48 // server → client: error output (never with a tty)
	execExit    = 0x49 // server → client, last: JSON {"code":N}

	// maxRequest bounds the request frame: Linux takes at most 2 MiB of argv and environment anyway.
	maxRequest = 4 << 20
)

// readExecFrame reads one exec frame; io.EOF only at a frame boundary, errProtocol for a bad type or length.
func readExecFrame(r io.Reader) (frame, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return frame{}, fmt.Errorf("%w: the stream ended inside a frame header", errProtocol)
		}
		return frame{}, err
	}
	typ := hdr[0]
	if typ < execHello || typ > execExit {
		return frame{}, fmt.Errorf("%w: unknown frame type 0x%02x", errProtocol, typ)
	}
	n := binary.BigEndian.Uint32(hdr[5:9])
	limit := uint32(maxPayload)
	if typ == execRequest {
		limit = maxRequest
	}
	if n > limit {
		return frame{}, fmt.Errorf("%w: frame length %d is over %d", errProtocol, n, limit)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return frame{}, fmt.Errorf("%w: the stream ended inside a frame payload", errProtocol)
	}
	return frame{typ: typ, payload: payload}, nil
}
