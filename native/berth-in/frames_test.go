package main

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(encodeFrame(frameData, 7, []byte("hello")))
	buf.Write(encodeFrame(frameEOF, 7, nil))
	f, err := readFrame(&buf)
	if err != nil || f.typ != frameData || f.id != 7 || string(f.payload) != "hello" {
		t.Fatalf("got %+v %v", f, err)
	}
	f, err = readFrame(&buf)
	if err != nil || f.typ != frameEOF || len(f.payload) != 0 {
		t.Fatalf("got %+v %v", f, err)
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Fatalf("want EOF at a frame boundary, got %v", err)
	}
}

func TestFrameRefusals(t *testing.T) {
	for name, in := range map[string][]byte{
		"unknown type": {0x09, 0, 0, 0, 1, 0, 0, 0, 0},
		"type zero":    {0x00, 0, 0, 0, 1, 0, 0, 0, 0},
		"oversized":    {0x04, 0, 0, 0, 1, 0, 1, 0, 1},
		"cut header":   {0x04, 0, 0},
		"cut payload":  {0x04, 0, 0, 0, 1, 0, 0, 0, 5, 'a'},
	} {
		if _, err := readFrame(bytes.NewReader(in)); !errors.Is(err, errProtocol) {
			t.Errorf("%s: want a protocol error, got %v", name, err)
		}
	}
}
