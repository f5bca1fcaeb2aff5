package prober

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/beevik/ntp"
)

// sampleFrom turns a query's outcome into a sample (Seq and Sent are set by
// the caller; Forged by summarize). beevik/ntp v1.6.0 rejects short
// replies, a mode other than server, a zero transmit timestamp and a
// receive timestamp after the transmit timestamp (a wrong origin timestamp
// never reaches it: gatedConn discards such datagrams and waits on); the
// other garbage is caught here, so a sample is either OK with consistent
// values or has a reason.
func sampleFrom(r *ntp.Response, err error) Sample {
	if err != nil {
		return Sample{Err: reason(err), NoRoute: noRoute(err)}
	}
	s := Sample{
		Offset:         r.ClockOffset,
		Delay:          r.RTT,
		Stratum:        r.Stratum,
		Leap:           uint8(r.Leap),
		RootDelay:      r.RootDelay,
		RootDispersion: r.RootDispersion,
		Precision:      r.Precision,
	}
	ts := r.Timestamps
	switch {
	case r.Version < 1 || r.Version > 4:
		s.Err = fmt.Sprintf("garbage reply: NTP version %d", r.Version)
	case r.IsKissOfDeath() && r.KissCode != "":
		s.KoD, s.RefID = r.KissCode, r.KissCode
		s.Err = "kiss-o'-death " + r.KissCode
	case ts.ClientRecv.Sub(ts.ClientXmit) < ts.ServerXmit.Sub(ts.ServerRecv):
		s.Err = "garbage reply: the server's time between receive and transmit exceeds the round trip"
	default:
		s.OK = true
		s.RefID = r.ReferenceString()
	}
	return s
}

// noRoute says err is this machine's: no route to the network or host
// (ENETUNREACH, EHOSTUNREACH), not a server's silence.
func noRoute(err error) bool {
	return errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// reason explains a query error in words an operator can act on.
func reason(err error) string {
	switch {
	case errors.As(err, new(forgedError)):
		return "garbage reply: gave up on a flood of replies whose origin timestamp does not match the request (stale or spoofed)"
	case errors.Is(err, ntp.ErrInvalidTime):
		return "garbage reply: shorter than an NTP header (48 bytes)"
	case errors.Is(err, ntp.ErrInvalidMode):
		return "garbage reply: not in server mode"
	case errors.Is(err, ntp.ErrServerResponseMismatch):
		return "garbage reply: origin timestamp does not match the request (stale or spoofed)"
	case errors.Is(err, ntp.ErrInvalidTransmitTime):
		return "garbage reply: transmit timestamp is zero"
	case errors.Is(err, ntp.ErrServerTickedBackwards):
		return "garbage reply: receive timestamp is after transmit timestamp"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "no reply (timeout)"
	}
	return err.Error()
}
