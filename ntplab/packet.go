package ntplab

import (
	"encoding/binary"
	"time"
)

// headerLen is the length of an NTP header without extension fields
// (RFC 5905 figure 8).
const headerLen = 48

// NTP modes (RFC 5905 section 7.3).
const (
	modeClient = 3
	modeServer = 4
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (the NTP epoch)
// to 1970-01-01 (the Unix epoch).
const ntpEpochOffset = 2208988800

// toNTP converts t to a 64-bit NTP timestamp (RFC 5905 section 6). The
// seconds wrap at era boundaries as the protocol expects.
func toNTP(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return sec<<32 | frac
}

// toShort converts a non-negative duration to the 32-bit NTP short format
// (16.16 fixed point seconds), saturating.
func toShort(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	v := (uint64(d) << 16) / 1e9
	if v > 0xffffffff {
		return 0xffffffff
	}
	return uint32(v)
}

// request is what the server needs from a client's packet.
type request struct {
	version  uint8
	poll     int8
	transmit [8]byte // the client's transmit timestamp, echoed as origin
}

// parseRequest accepts a client-mode (3) packet of at least 48 bytes.
func parseRequest(b []byte) (request, bool) {
	if len(b) < headerLen || b[0]&7 != modeClient {
		return request{}, false
	}
	r := request{version: (b[0] >> 3) & 7, poll: int8(b[2])}
	if r.version < 1 || r.version > 4 {
		return request{}, false
	}
	copy(r.transmit[:], b[40:48])
	return r, true
}

// reply holds the fields of a server reply.
type reply struct {
	leap, stratum  uint8
	precision      int8
	rootDelay      time.Duration
	rootDispersion time.Duration
	refID          uint32
	refTime        uint64 // NTP timestamp; 0 means unknown
	receive        uint64
	transmit       uint64
}

// marshal builds the 48-byte reply to req.
func (r reply) marshal(req request) []byte {
	b := make([]byte, headerLen)
	b[0] = r.leap<<6 | req.version<<3 | modeServer
	b[1] = r.stratum
	b[2] = byte(req.poll)
	b[3] = byte(r.precision)
	binary.BigEndian.PutUint32(b[4:], toShort(r.rootDelay))
	binary.BigEndian.PutUint32(b[8:], toShort(r.rootDispersion))
	binary.BigEndian.PutUint32(b[12:], r.refID)
	binary.BigEndian.PutUint64(b[16:], r.refTime)
	copy(b[24:32], req.transmit[:])
	binary.BigEndian.PutUint64(b[32:], r.receive)
	binary.BigEndian.PutUint64(b[40:], r.transmit)
	return b
}

// kodReply builds a kiss-o'-death reply the way ntpd does: leap 3,
// stratum 0, the kiss code as reference ID, and the client's transmit
// timestamp copied into origin, receive and transmit.
func kodReply(req request, code uint32) []byte {
	b := make([]byte, headerLen)
	b[0] = 3<<6 | req.version<<3 | modeServer
	b[2] = byte(req.poll)
	prec := int8(DefaultPrecision)
	b[3] = byte(prec)
	binary.BigEndian.PutUint32(b[12:], code)
	copy(b[24:32], req.transmit[:])
	copy(b[32:40], req.transmit[:])
	copy(b[40:48], req.transmit[:])
	return b
}
