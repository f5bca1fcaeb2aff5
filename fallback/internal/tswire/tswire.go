// Package tswire holds the wire form of systemd-timesyncd's D-Bus
// NTPMessage property, shared by the fallback client and the fake in
// fallbacktest.
package tswire

// NTPMessage is the NTPMessage property of org.freedesktop.timesync1.Manager,
// signature (uuuuittayttttbtt) as systemd's timesyncd-bus.c builds it:
// leap, version, mode, stratum, precision, root delay and dispersion (µs),
// reference id, then origin, receive, transmit and destination times (µs
// of the realtime clock), spike, packet count and jitter (µs).
type NTPMessage struct {
	Leap, Version, Mode, Stratum uint32
	Precision                    int32
	RootDelay, RootDispersion    uint64
	RefID                        []byte
	Origin, Recv, Trans, Dest    uint64
	Spike                        bool
	PacketCount, Jitter          uint64
}
