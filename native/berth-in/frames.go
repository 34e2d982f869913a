package main

// The relay's wire format (contract: /.berth docs/berth-in.md, TS twin src/api/relay-protocol.ts):
// 1 byte type, 4 bytes connection id, 4 bytes payload length (both big endian), payload.
// A fixed header with a hard length cap lets either side reject garbage before allocating.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	frameReady  = 0x01
	frameFail   = 0x02
	frameOpen   = 0x03
	frameData   = 0x04
	frameEOF    = 0x05
	frameClose  = 0x06
	frameWindow = 0x07

	frameHeaderLen = 9
	// maxPayload bounds every frame so a hostile length cannot make us allocate much.
	maxPayload = 65536
	// initialWindow is what each side may send per connection before the other grants more.
	initialWindow = 256 * 1024
)

type frame struct {
	typ     byte
	id      uint32
	payload []byte
}

// errProtocol marks input that breaks the frame rules; the relay exits 1 on it.
var errProtocol = errors.New("protocol error")

// encodeFrame builds one frame in a single buffer so it goes out in one write.
func encodeFrame(typ byte, id uint32, payload []byte) []byte {
	buf := make([]byte, frameHeaderLen+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], id)
	binary.BigEndian.PutUint32(buf[5:9], uint32(len(payload)))
	copy(buf[frameHeaderLen:], payload)
	return buf
}

// readFrame reads one frame; io.EOF only at a frame boundary, errProtocol for a bad type or length.
func readFrame(r io.Reader) (frame, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return frame{}, fmt.Errorf("%w: stdin ended inside a frame header", errProtocol)
		}
		return frame{}, err
	}
	typ := hdr[0]
	if typ < frameReady || typ > frameWindow {
		return frame{}, fmt.Errorf("%w: unknown frame type 0x%02x", errProtocol, typ)
	}
	n := binary.BigEndian.Uint32(hdr[5:9])
	if n > maxPayload {
		return frame{}, fmt.Errorf("%w: frame length %d is over %d", errProtocol, n, maxPayload)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return frame{}, fmt.Errorf("%w: stdin ended inside a frame payload", errProtocol)
	}
	return frame{typ: typ, id: binary.BigEndian.Uint32(hdr[1:5]), payload: payload}, nil
}
