package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Int64Codec encodes an int64 state (a counter, as examples/echo keeps): a format byte and
// a varint. A delta is the new value, as small as anything that could describe the change.
type Int64Codec struct{}

var _ Codec[int64] = Int64Codec{}

const int64Format = 1

// Snapshot encodes n.
func (Int64Codec) Snapshot(n int64) ([]byte, error) {
	return binary.AppendVarint([]byte{int64Format}, n), nil
}

// Delta encodes next; the journal's last delta is the value.
func (c Int64Codec) Delta(_, next int64) ([]byte, bool, error) {
	b, err := c.Snapshot(next)
	return b, true, err
}

// Restore returns the newest value of the snapshot and the deltas.
func (Int64Codec) Restore(snapshot []byte, deltas [][]byte) (int64, error) {
	last := snapshot
	if len(deltas) > 0 {
		last = deltas[len(deltas)-1]
	}
	if len(last) == 0 {
		return 0, errors.New("int64 codec: empty record")
	}
	if last[0] != int64Format {
		return 0, fmt.Errorf("int64 codec: format %d, this build reads %d", last[0], int64Format)
	}
	n, size := binary.Varint(last[1:])
	if size <= 0 || 1+size != len(last) {
		return 0, fmt.Errorf("int64 codec: %d bytes are not one varint", len(last)-1)
	}
	return n, nil
}
