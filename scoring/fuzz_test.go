package scoring

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fuzzRecord is the size of one measurement in the fuzz input.
const fuzzRecord = 16

// fuzzValue turns a byte into a non-negative duration in seconds spread
// over 1 µs .. 4 s, or one of the values a broken source might report.
func fuzzValue(b byte) float64 {
	switch b {
	case 0xff:
		return math.NaN()
	case 0xfe:
		return math.Inf(1)
	case 0xfd:
		return -0.001
	case 0:
		return 0
	}
	return 1e-6 * math.Pow(2, float64(b)/11)
}

// fuzzInput decodes data into a config and measurements: 4 config bytes,
// then 16 bytes per measurement. Addresses come from a small space so
// prefixes and operators collide; duplicates are dropped.
func fuzzInput(data []byte) (Config, []Measurement) {
	cfg := DefaultConfig()
	if len(data) >= 4 {
		cfg.SetSize = 1 + int(data[0])%MaxSetSize
		cfg.MinSetSize = 1 + int(data[1])%MaxSetSize
		cfg.HysteresisPercent = float64(data[2] % 50)
		cfg.StabilityThreshold = 1 + int(data[3]>>4)%4
		cfg.MaxChangesPerRun = int(data[3]) % 3
		cfg.Authentication = AuthPolicies[int(data[2]>>6)%len(AuthPolicies)]
		data = data[4:]
	}
	seen := map[netip.Addr]bool{}
	var ms []Measurement
	for ; len(data) >= fuzzRecord; data = data[fuzzRecord:] {
		r := data[:fuzzRecord]
		addr := netip.AddrFrom4([4]byte{10, r[0] >> 6, r[0] & 0x3f, r[1]})
		if seen[addr] {
			continue
		}
		seen[addr] = true
		flags := r[14]
		m := Measurement{
			Address:        addr,
			Name:           []string{"", "a.example", "b.example", addr.String(), "0.pool.ntp.org"}[int(r[2])%5],
			Operator:       []string{"", "", "Op A", "Op B"}[r[2]>>6],
			Offset:         float64(int16(binary.BigEndian.Uint16(r[3:5]))) * 1e-4,
			Delay:          fuzzValue(r[5]),
			Jitter:         fuzzValue(r[6]),
			RootDelay:      fuzzValue(r[7]),
			RootDispersion: fuzzValue(r[8]),
			Stratum:        int(r[9] % 20),
			Leap:           int(r[10] % 4),
			RefIDRaw:       uint32(r[11] % 4),
			SamplesSent:    int(r[12] >> 4),
			SamplesOK:      int(r[12] & 0x0f),
			KoD:            []string{"", "", "", "", "RATE", "DENY", "RSTR", "XXXX"}[r[13]%8],
			Current:        flags&1 != 0,
			Pinned:         flags&2 != 0 && flags&4 != 0,
			Smearing:       flags&8 != 0,
			Unsynchronized: flags&16 != 0,
		}
		if flags&32 != 0 {
			m.ChronydState = StateFalseticker
		}
		if r[15]&1 != 0 {
			m.Origin = OriginChronyd
		}
		if r[15]&2 != 0 {
			m.Auth = AuthNTS
		}
		ms = append(ms, m)
	}
	return cfg, ms
}

// FuzzDecide: no input makes Decide panic or break its invariants, over
// two runs so hysteresis and the blacklist see their own state again.
func FuzzDecide(f *testing.F) {
	rec := func(a, b byte, off int16, delay, jitter, stratum, sent, flags byte) []byte {
		r := make([]byte, fuzzRecord)
		r[0], r[1], r[2] = a, b, 1
		binary.BigEndian.PutUint16(r[3:5], uint16(off))
		r[5], r[6], r[7], r[8] = delay, jitter, 40, 40
		r[9], r[12], r[14] = stratum, sent, flags
		return r
	}
	seed := []byte{3, 2, 15, 0x21}
	seed = append(seed, rec(0, 1, 0, 80, 60, 2, 0x44, 1)...)
	seed = append(seed, rec(1, 2, 5, 90, 70, 2, 0x44, 0)...)
	seed = append(seed, rec(2, 3, -3, 70, 50, 1, 0x44, 0)...)
	seed = append(seed, rec(3, 4, 3000, 60, 0, 2, 0x44, 0)...)   // falseticker
	seed = append(seed, rec(4, 5, 0, 60, 0, 2, 0x40, 1)...)      // silent member
	seed = append(seed, rec(5, 6, 0, 0xff, 0xfe, 2, 0x44, 6)...) // pinned, broken
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0})
	// Found by fuzzing: a silent current member of the other smearing class
	// was kept, mixing the classes.
	f.Add([]byte("800000010 01000000Y10000000000000000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ms := fuzzInput(data)
		var st State
		for run := 0; run < 2; run++ {
			d, next, err := Decide(Input{Measurements: ms}, st, t0.Add(time.Duration(run)*time.Hour), cfg)
			require.NoError(t, err)
			checkInvariants(t, d, ms, cfg)
			for i := range ms {
				ms[i].Current = false
				for _, a := range d.Selected {
					ms[i].Current = ms[i].Current || a == ms[i].Address
				}
			}
			st = next
		}
	})
}
