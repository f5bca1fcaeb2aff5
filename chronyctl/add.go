package chronyctl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// SourceType is the kind of source ADD_SOURCE creates (REQ_ADDSRC_*).
type SourceType uint32

// Source types.
const (
	TypeServer SourceType = 1
	TypePeer   SourceType = 2
	TypePool   SourceType = 3
)

func (t SourceType) String() string {
	switch t {
	case TypeServer:
		return "server"
	case TypePeer:
		return "peer"
	case TypePool:
		return "pool"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ADD_SOURCE flag bits (candm.h REQ_ADDSRC_*), the chrony.conf options of
// the same names.
const (
	FlagOnline        uint32 = 0x0001 // without it the source starts offline
	FlagAutoOffline   uint32 = 0x0002
	FlagIBurst        uint32 = 0x0004
	FlagPrefer        uint32 = 0x0008
	FlagNoSelect      uint32 = 0x0010
	FlagTrust         uint32 = 0x0020
	FlagRequire       uint32 = 0x0040
	FlagInterleaved   uint32 = 0x0080 // xleave
	FlagBurst         uint32 = 0x0100
	FlagNTS           uint32 = 0x0200
	FlagCopy          uint32 = 0x0400 // 4.1+
	FlagExtMonoRoot   uint32 = 0x0800 // extfield F323, 4.2+
	FlagExtNetCorrect uint32 = 0x1000 // extfield F324, 4.5+
	FlagIPv4          uint32 = 0x2000 // 4.6+
	FlagIPv6          uint32 = 0x4000 // 4.6+
	addSourceBodyLen         = 352
	addSourceNameLen         = 256
)

// AddSourceRequest is the body of REQ_ADD_SOURCE (candm.h REQ_NTP_Source).
// Every field is sent as is: zero is not a default (a zero MaxDelay makes
// chronyd reject every sample), so start from NewAddSource.
type AddSourceRequest struct {
	Type             SourceType
	Name             string // hostname or IP literal; an IP is added at once, a name resolved later
	Port             uint32
	MinPoll          int32 // log2 seconds
	MaxPoll          int32
	PresendMinPoll   int32 // presend; above 24 disables it
	MinStratum       uint32
	PollTarget       uint32
	Version          uint32 // NTP version, 0 = automatic
	MaxSources       uint32 // pools only, 1..16
	MinSamples       int32  // -1 = chronyd's default
	MaxSamples       int32  // -1 = chronyd's default
	AuthKey          uint32
	NTSPort          uint32
	MaxDelay         float64 // seconds
	MaxDelayRatio    float64
	MaxDelayDevRatio float64
	MinDelay         float64
	Asymmetry        float64
	Offset           float64
	Flags            uint32 // Flag*; include FlagOnline
	FilterLength     int32
	CertSet          uint32  // 4.1+
	MaxDelayQuant    float64 // 4.3+
	MaxUnreach       int32   // 4.8+ (ignored before)
}

// NewAddSource returns a request with chronyc's defaults for "add server
// NAME" (or peer/pool): port 123, minpoll 6, maxpoll 10, presend off,
// polltarget 8, maxsources 4, maxdelay 3 s, maxdelaydevratio 10, asymmetry
// 1, NTS-KE port 4460, online, and max_unreach 100000 (chrony 4.8's
// default; a 0 would tell 4.8+ never to keep an unreachable source
// selected).
func NewAddSource(t SourceType, name string) AddSourceRequest {
	return AddSourceRequest{
		Type: t, Name: name, Port: 123, MinPoll: 6, MaxPoll: 10, PresendMinPoll: 100,
		PollTarget: 8, MaxSources: 4, MinSamples: -1, MaxSamples: -1, NTSPort: 4460,
		MaxDelay: 3, MaxDelayDevRatio: 10, Asymmetry: 1, Flags: FlagOnline, MaxUnreach: 100000,
	}
}

// Validate checks the request before it is sent: the name (srvname rules,
// which also fit chronyd's 255 bytes), the type, and the values chronyd
// would accept but that would break the source (poll target 0 divides by
// zero in chronyd, max delay 0 rejects every sample).
func (r AddSourceRequest) Validate() error {
	if err := srvname.Validate(r.Name); err != nil {
		return err
	}
	switch {
	case r.Type < TypeServer || r.Type > TypePool:
		return fmt.Errorf("add source %s: type %d: want server (1), peer (2) or pool (3)", r.Name, r.Type)
	case r.Port == 0 || r.Port > 65535:
		return fmt.Errorf("add source %s: port %d: want 1..65535", r.Name, r.Port)
	case r.MinPoll < -7 || r.MinPoll > 24 || r.MaxPoll < -7 || r.MaxPoll > 24:
		return fmt.Errorf("add source %s: minpoll %d / maxpoll %d: want -7..24", r.Name, r.MinPoll, r.MaxPoll)
	case r.PollTarget == 0:
		return fmt.Errorf("add source %s: polltarget 0: want at least 1 (start from NewAddSource)", r.Name)
	case !(r.MaxDelay > 0):
		return fmt.Errorf("add source %s: maxdelay %g: want more than 0, or chronyd rejects every sample (start from NewAddSource)", r.Name, r.MaxDelay)
	case r.Version > 4:
		return fmt.Errorf("add source %s: version %d: want 0 (automatic) to 4", r.Name, r.Version)
	case r.Type == TypePool && (r.MaxSources < 1 || r.MaxSources > 16):
		return fmt.Errorf("add source %s: maxsources %d: want 1..16", r.Name, r.MaxSources)
	}
	return nil
}

// body encodes the request body in candm.h's layout (offsets from the
// start of the datagram in the comments).
func (r AddSourceRequest) body() []byte {
	b := make([]byte, addSourceBodyLen)
	be := binary.BigEndian
	be.PutUint32(b[0:], uint32(r.Type))     // 20
	copy(b[4:4+addSourceNameLen-1], r.Name) // 24, NUL-terminated
	for i, v := range []uint32{             // 280 ... 324
		r.Port, uint32(r.MinPoll), uint32(r.MaxPoll), uint32(r.PresendMinPoll), r.MinStratum,
		r.PollTarget, r.Version, r.MaxSources, uint32(r.MinSamples), uint32(r.MaxSamples),
		r.AuthKey, r.NTSPort,
	} {
		be.PutUint32(b[260+4*i:], v)
	}
	for i, v := range []float64{r.MaxDelay, r.MaxDelayRatio, r.MaxDelayDevRatio, r.MinDelay, r.Asymmetry, r.Offset} {
		be.PutUint32(b[308+4*i:], encodeFloat(v)) // 328 ... 348
	}
	be.PutUint32(b[332:], r.Flags)                      // 352
	be.PutUint32(b[336:], uint32(r.FilterLength))       // 356
	be.PutUint32(b[340:], r.CertSet)                    // 360
	be.PutUint32(b[344:], encodeFloat(r.MaxDelayQuant)) // 364
	be.PutUint32(b[348:], uint32(r.MaxUnreach))         // 368
	return b
}

// AddSource adds a source (REQ_ADD_SOURCE). An IP literal is a source at
// once; a name is accepted at once and resolved by chronyd in the
// background (it shows as ID#n until then). A source with the same IP
// already present fails with ErrSourceExists, whatever its port or mode.
//
// ADD_SOURCE is not idempotent, so retransmissions are checked: before a
// retransmission the source list is searched for the source (by IP, or,
// for a name, for one more source of that name than before the first
// transmission), and an "already present" answer to a retransmission
// counts as success when the source is there.
func (c *Client) AddSource(ctx context.Context, r AddSourceRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	present, err := c.addedCheck(ctx, r.Name)
	if err != nil {
		return err
	}
	_, retransmitted, err := c.do(ctx, cmdAddSource, r.body(), present)
	if retransmitted && errors.Is(err, ErrSourceExists) {
		done, cerr := present(ctx)
		if cerr != nil {
			return fmt.Errorf("%w (and checking whether an earlier transmission added it failed: %w)", err, cerr)
		}
		if done {
			c.log.Debug().Str("server", r.Name).Msg("a retransmitted ADD_SOURCE was answered 511; the source is present")
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("add %s %s: %w", r.Type, r.Name, err)
	}
	return nil
}
