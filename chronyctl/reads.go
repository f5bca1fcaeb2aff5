package chronyctl

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/facebook/time/ntp/chrony"
)

// NumSources returns how many sources chronyd has, including reference
// clocks and unresolved (ID#) sources (REQ_N_SOURCES).
func (c *Client) NumSources(ctx context.Context) (int, error) {
	r, err := read[*chrony.ReplySources](ctx, c, chrony.NewSourcesPacket())
	if err != nil {
		return 0, err
	}
	return r.NSources, nil
}

// Activity returns chronyd's count of sources online, offline, in a burst
// and unresolved (REQ_ACTIVITY).
func (c *Client) Activity(ctx context.Context) (Activity, error) {
	r, err := read[*chrony.ReplyActivity](ctx, c, chrony.NewActivityPacket())
	if err != nil {
		return Activity{}, err
	}
	a := r.Activity
	return Activity{Online: int(a.Online), Offline: int(a.Offline), BurstOnline: int(a.BurstOnline),
		BurstOffline: int(a.BurstOffline), Unresolved: int(a.Unresolved)}, nil
}

// sourceData fills the SOURCE_DATA part of s for index i.
func (c *Client) sourceData(ctx context.Context, i int, s *Source) error {
	r, err := read[*chrony.ReplySourceData](ctx, c, chrony.NewSourceDataPacket(int32(i)))
	if err != nil {
		return err
	}
	d := r.SourceData
	*s = Source{
		Index: i, Address: addrFromLib(d.IPAddr),
		Mode: Mode(d.Mode), State: State(d.State), Poll: int(d.Poll), Stratum: int(d.Stratum),
		Reach: uint8(d.Reachability), LastRx: d.SinceSample,
		Offset: d.LatestMeas, MeasuredOffset: d.OrigLatestMeas, OffsetError: d.LatestMeasErr,
	}
	// A reference clock's "address" is an IPv4 family carrying its refid.
	if s.Mode == ModeRefclock && d.IPAddr != nil && d.IPAddr.Family == familyInet4 {
		s.RefID = binary.BigEndian.Uint32(d.IPAddr.IP[:4])
		s.Name = RefIDText(s.RefID)
		s.Address = Addr{}
	}
	return nil
}

// sourceStats reads SOURCESTATS for index i; addr and refID identify the
// source it answered for.
func (c *Client) sourceStats(ctx context.Context, i int) (SourceStats, Addr, uint32, error) {
	r, err := read[*chrony.ReplySourceStats](ctx, c, chrony.NewSourceStatsPacket(int32(i)))
	if err != nil {
		return SourceStats{}, Addr{}, 0, err
	}
	d := r.SourceStats
	return SourceStats{
		Samples: d.NSamples, Runs: d.NRuns, Span: d.SpanSeconds, StdDev: d.StandardDeviation,
		ResidFreqPPM: d.ResidFreqPPM, SkewPPM: d.SkewPPM, EstOffset: d.EstimatedOffset, EstOffsetErr: d.EstimatedOffsetErr,
	}, addrFromLib(d.IPAddr), d.RefID, nil
}

// selectData reads SELECT_DATA for index i (chrony 4.0+, Unix socket only
// before 4.7); addr is the source it answered for (invalid for ID# and
// refclocks, which the library does not pass through).
func (c *Client) selectData(ctx context.Context, i int) (SelectData, netip.Addr, uint32, error) {
	r, err := read[*chrony.ReplySelectData](ctx, c, chrony.NewSelectDataPacket(int32(i)))
	if err != nil {
		return SelectData{}, netip.Addr{}, 0, err
	}
	d := r.SelectData
	return SelectData{
		StateChar: string(rune(d.StateChar)), Authenticated: d.Authentication != 0, Leap: d.Leap,
		ConfOptions: SelectOptions(d.ConfOptions), EffOptions: SelectOptions(d.EFFOptions),
		LastSampleAgo: d.LastSampleAgo, Score: d.Score, LoLimit: d.LoLimit, HiLimit: d.HiLimit,
	}, ipFromNet(d.IPAddr), d.RefID, nil
}

// ntpData reads NTP_DATA for an NTP source's IP address; chronyd 4.6+
// answers with the longer NTP_DATA2, which is accepted too. The counters
// after total_valid_count are read from the datagram itself: the library
// does not decode total_good_count (4.3+), and its NTP_DATA2 layout lacks
// it, which shifts its four timestamp counters by one field.
func (c *Client) ntpData(ctx context.Context, a Addr) (NTPData, error) {
	r, raw, err := readRaw[chrony.ResponsePacket](ctx, c, chrony.NewNTPDataPacket(libAddr(a)))
	if err != nil {
		return NTPData{}, err
	}
	var d NTPData
	switch r := r.(type) {
	case *chrony.ReplyNTPData:
		d = ntpDataFromLib(&r.NTPData)
	case *chrony.ReplyNTPData2:
		d = ntpDataFromLib(&r.NTPData)
		be := binary.BigEndian
		d.TotalKernelTx, d.TotalKernelRx = be.Uint32(raw[140:]), be.Uint32(raw[144:])
		d.TotalHWTx, d.TotalHWRx = be.Uint32(raw[148:]), be.Uint32(raw[152:])
	default:
		return NTPData{}, &ReplyTypeError{Command: commandName(cmdNTPData), ReplyType: uint16(r.GetType())}
	}
	d.TotalGood = binary.BigEndian.Uint32(raw[136:]) // both layouts; 0 before 4.3
	return d, nil
}

func ntpDataFromLib(d *chrony.NTPData) NTPData {
	return NTPData{
		LocalAddr: Addr{IP: ipFromNet(d.LocalAddr)}, RemotePort: d.RemotePort,
		Leap: d.Leap, Version: d.Version, Mode: d.Mode, Stratum: d.Stratum, Poll: d.Poll, Precision: d.Precision,
		RootDelay: d.RootDelay, RootDispersion: d.RootDispersion, RefID: d.RefID, RefTime: d.RefTime.UTC(),
		Offset: d.Offset, Delay: d.PeerDelay, Dispersion: d.PeerDispersion, ResponseTime: d.ResponseTime,
		JitterAsymmetry: d.JitterAsymmetry, Tests: d.Flags & chrony.NTPFlagsTests,
		Interleaved: d.Flags&chrony.NTPFlagInterleaved != 0, Authenticated: d.Flags&chrony.NTPFlagAuthenticated != 0,
		TxTimestamping: tssChar(d.TXTssChar), RxTimestamping: tssChar(d.RXTssChar),
		TotalTx: d.TotalTXCount, TotalRx: d.TotalRXCount, TotalValid: d.TotalValidCount,
	}
}

func tssChar(b uint8) string {
	if b == 0 {
		return ""
	}
	return string(rune(b))
}

// SourceName returns the name a source was configured with (REQ_NTP_SOURCE_NAME):
// the hostname or IP literal given to server/pool/peer or AddSource. Pool
// members all return the pool's name.
func (c *Client) SourceName(ctx context.Context, a Addr) (string, error) {
	r, err := read[*chrony.ReplyNTPSourceName](ctx, c, chrony.NewNTPSourceNamePacket(libAddr(a)))
	if err != nil {
		return "", err
	}
	return r.Name, nil
}

// ipFromNet converts a library net.IP (nil for none) to netip.
func ipFromNet(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}

// RefIDText is chronyc's text form of a reference ID (UTI_RefidToString):
// its printable ASCII bytes, e.g. "GPS" for 0x47505300. (The facebook
// library's RefidToString turns to hex instead when a byte is not
// printable.)
func RefIDText(id uint32) string {
	var b []byte
	for i := 24; i >= 0; i -= 8 {
		if c := byte(id >> i); c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}
