package fallback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/facebook/time/ntp/control"
)

// Mode 6 (RFC 1305 appendix B, ntpd's control protocol) defaults.
const (
	// DefaultNTPDControlAddr is where ntpd answers mode 6 queries from
	// this machine (Debian's ntp.conf has "restrict 127.0.0.1" without
	// noquery).
	DefaultNTPDControlAddr = "127.0.0.1:123"
	// mode6Version is the NTP version in our requests; ntpq sends 2 and
	// every ntpd/NTPsec answers it.
	mode6Version = 2
	// mode6RequestTimeout bounds one request when ctx has no earlier deadline.
	mode6RequestTimeout = 2 * time.Second
	// maxAssociations bounds how many associations are read per check.
	maxAssociations = 64
)

// ErrNoControl is returned when ntpd does not answer mode 6 queries.
var ErrNoControl = errors.New("ntpd does not answer mode 6 control queries")

// Peer is one ntpd association as mode 6 reports it.
type Peer struct {
	AssocID   uint16
	Addr      string // srcadr, "0.0.0.0" for a pool prototype
	Name      string // srchost where ntpd reports it (NTPsec does)
	Reach     uint8  // the reach shift register
	Reachable bool   // the status word's reachable bit
	Selection string // reject, falsetick, ..., candidate, sys.peer
	Stratum   int
}

// Dialer opens the UDP "connection" to ntpd's control port; tests replace
// it (for example to dial inside a network namespace).
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Mode6 reads ntpd's associations over NTP mode 6 with
// github.com/facebook/time/ntp/control (READSTAT for the association list,
// READVAR for each association's variables), never by running ntpq.
type Mode6 struct {
	Addr string // DefaultNTPDControlAddr when empty
	Dial Dialer // net.Dialer.DialContext when nil
}

// Peers returns ntpd's current associations.
func (m Mode6) Peers(ctx context.Context) ([]Peer, error) {
	addr := m.Addr
	if addr == "" {
		addr = DefaultNTPDControlAddr
	}
	dial := m.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrNoControl, addr, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(mode6RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	client := &control.NTPClient{Sequence: 1, Connection: conn}
	status, err := request(client, control.OpReadStatus, 0)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrNoControl, addr, err)
	}
	if len(status.Data)%4 != 0 {
		return nil, fmt.Errorf("mode 6 READSTAT: %d data octets, not a multiple of 4", len(status.Data))
	}
	var peers []Peer
	for i := 0; i+4 <= len(status.Data) && len(peers) < maxAssociations; i += 4 {
		id := uint16(status.Data[i])<<8 | uint16(status.Data[i+1])
		word := control.ReadPeerStatusWord(uint16(status.Data[i+2])<<8 | uint16(status.Data[i+3]))
		p := Peer{AssocID: id, Reachable: word.PeerStatus.Reachable, Selection: control.PeerSelect[word.PeerSelection]}
		vars, err := request(client, control.OpReadVariables, id)
		if err != nil {
			return nil, fmt.Errorf("mode 6 READVAR for association %d: %w", id, err)
		}
		kv := parseVars(string(vars.Data))
		p.Addr = kv["srcadr"]
		p.Name = kv["srchost"]
		if r, err := strconv.ParseUint(strings.TrimPrefix(kv["reach"], "0x"), 16, 8); err == nil {
			p.Reach = uint8(r)
		}
		p.Stratum, _ = strconv.Atoi(kv["stratum"])
		peers = append(peers, p)
	}
	return peers, nil
}

// request sends one mode 6 request and checks the answer is a response
// to it without the error bit.
func request(c *control.NTPClient, op int, assoc uint16) (*control.NTPControlMsg, error) {
	seq := c.Sequence
	msg, err := c.Communicate(&control.NTPControlMsgHead{
		VnMode:        control.MakeVnMode(mode6Version, control.Mode),
		REMOp:         control.MakeREMOp(false, false, false, op),
		AssociationID: assoc,
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !msg.IsResponse():
		return nil, errors.New("answer is not a response")
	case msg.Sequence != seq:
		return nil, fmt.Errorf("answer has sequence %d, want %d", msg.Sequence, seq)
	case msg.HasError():
		return nil, fmt.Errorf("ntpd answered with error code %d", msg.Status>>8)
	}
	return msg, nil
}

// parseVars parses mode 6 variable text: comma-separated name=value pairs,
// values optionally in double quotes (which may hold commas).
func parseVars(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \r\n\t,")
		eq := strings.IndexAny(s, "=,")
		if eq < 0 {
			if k := strings.TrimSpace(s); k != "" {
				out[k] = ""
			}
			break
		}
		key := strings.TrimSpace(s[:eq])
		if s[eq] == ',' {
			if key != "" {
				out[key] = ""
			}
			s = s[eq+1:]
			continue
		}
		s = strings.TrimLeft(s[eq+1:], " ")
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:end+1], s[end+2:]
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end], s[end+1:]
			}
		}
		if key != "" {
			out[key] = strings.TrimSpace(val)
		}
	}
	return out
}
