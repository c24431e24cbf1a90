package probe

import (
	"encoding/binary"
	"fmt"
)

// Wire format constants.
const (
	// HeaderSize is the size of a probe's header; the smallest PacketSize.
	HeaderSize = 32
	// MaxPacketSize is the largest PacketSize: a UDP payload that fits a 1500-byte
	// Ethernet frame over IPv4 without fragmentation.
	MaxPacketSize = 1472

	magic          = "CXRP"
	version        = 1
	kindRequest    = 1
	kindReply      = 2
	offsetKind     = 5
	offsetSession  = 8
	offsetSeq      = 16
	offsetSentUnix = 24
)

// packet is a decoded probe header.
type packet struct {
	kind     byte
	session  uint64
	seq      uint64
	sentUnix int64
}

// encode writes p's header into b (len(b) >= HeaderSize) and zeroes the rest.
func (p packet) encode(b []byte) {
	clear(b)
	copy(b, magic)
	b[4] = version
	b[offsetKind] = p.kind
	binary.BigEndian.PutUint64(b[offsetSession:], p.session)
	binary.BigEndian.PutUint64(b[offsetSeq:], p.seq)
	binary.BigEndian.PutUint64(b[offsetSentUnix:], uint64(p.sentUnix))
}

// decode parses a probe header; anything else is an error.
func decode(b []byte) (packet, error) {
	if len(b) < HeaderSize {
		return packet{}, fmt.Errorf("probe: packet of %d bytes is shorter than the %d-byte header", len(b), HeaderSize)
	}
	if string(b[:4]) != magic {
		return packet{}, fmt.Errorf("probe: packet does not start with %q", magic)
	}
	if b[4] != version {
		return packet{}, fmt.Errorf("probe: packet version %d, want %d", b[4], version)
	}
	k := b[offsetKind]
	if k != kindRequest && k != kindReply {
		return packet{}, fmt.Errorf("probe: packet kind %d is neither request (1) nor reply (2)", k)
	}
	return packet{
		kind:     k,
		session:  binary.BigEndian.Uint64(b[offsetSession:]),
		seq:      binary.BigEndian.Uint64(b[offsetSeq:]),
		sentUnix: int64(binary.BigEndian.Uint64(b[offsetSentUnix:])),
	}, nil
}
