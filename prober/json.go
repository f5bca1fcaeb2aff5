package prober

import (
	"encoding/json"
	"time"
)

// JSONResult is the machine-readable form of a Result: the keys scripts
// rely on (`ntp-optimizer probe --json`), durations in seconds. Measured
// values are null when no usable reply came back, and jitter_s also when
// fewer than two did. Callers that add keys (score, verdict, reason) embed
// it in their own struct.
type JSONResult struct {
	Server         string       `json:"server"`
	Aliases        []string     `json:"aliases,omitempty"`
	Address        string       `json:"address"`
	Port           int          `json:"port"`
	Offset         *float64     `json:"offset_s"`
	MedianOffset   *float64     `json:"median_offset_s"`
	Delay          *float64     `json:"delay_s"`
	Jitter         *float64     `json:"jitter_s"`
	Stratum        *uint8       `json:"stratum"`
	RefID          string       `json:"refid"`
	Leap           *uint8       `json:"leap"`
	RootDelay      *float64     `json:"root_delay_s"`
	RootDispersion *float64     `json:"root_dispersion_s"`
	RootDistance   *float64     `json:"root_distance_s"`
	Reach          float64      `json:"reach"`
	SamplesSent    int          `json:"samples_sent"`
	SamplesOK      int          `json:"samples_ok"`
	KoD            string       `json:"kod"`
	Unsynchronized bool         `json:"unsynchronized"`
	RateLimited    bool         `json:"rate_limited"`
	Blacklist      bool         `json:"blacklist"`
	Forged         int          `json:"forged"` // wrong-origin datagrams discarded
	Error          string       `json:"error,omitempty"`
	Skipped        string       `json:"skipped,omitempty"`
	Samples        []JSONSample `json:"samples"`
}

// JSONSample is the machine-readable form of a Sample.
type JSONSample struct {
	Seq     int      `json:"seq"`
	Sent    string   `json:"sent"` // RFC 3339 with nanoseconds
	OK      bool     `json:"ok"`
	Offset  *float64 `json:"offset_s,omitempty"`
	Delay   *float64 `json:"delay_s,omitempty"`
	Stratum uint8    `json:"stratum"`
	Leap    uint8    `json:"leap"`
	RefID   string   `json:"refid,omitempty"`
	KoD     string   `json:"kod,omitempty"`
	Forged  int      `json:"forged,omitempty"` // wrong-origin datagrams discarded
	Error   string   `json:"error,omitempty"`
}

func secs(d time.Duration) *float64 {
	v := d.Seconds()
	return &v
}

// JSON returns the machine-readable form of r.
func (r Result) JSON() JSONResult {
	j := JSONResult{
		Server: r.Server, Aliases: r.Aliases, Port: r.Port, RefID: r.RefID,
		Reach: r.Reach, SamplesSent: r.SamplesSent, SamplesOK: r.SamplesOK,
		KoD: r.KoD, Unsynchronized: r.Unsynchronized, RateLimited: r.RateLimited,
		Blacklist: r.Blacklist, Forged: r.Forged, Error: r.Err, Skipped: r.Skipped, Samples: []JSONSample{},
	}
	if r.Address.IsValid() {
		j.Address = r.Address.String()
	}
	if r.SamplesOK > 0 {
		stratum, leap := r.Stratum, r.Leap
		j.Offset, j.MedianOffset, j.Delay = secs(r.Offset), secs(r.MedianOffset), secs(r.Delay)
		j.Stratum, j.Leap = &stratum, &leap
		j.RootDelay, j.RootDispersion, j.RootDistance = secs(r.RootDelay), secs(r.RootDispersion), secs(r.RootDistance)
	}
	if r.SamplesOK > 1 {
		j.Jitter = secs(r.Jitter)
	}
	for _, s := range r.Samples {
		js := JSONSample{Seq: s.Seq, Sent: s.Sent.UTC().Format(time.RFC3339Nano), OK: s.OK,
			Stratum: s.Stratum, Leap: s.Leap, RefID: s.RefID, KoD: s.KoD, Forged: s.Forged, Error: s.Err}
		if s.OK {
			js.Offset, js.Delay = secs(s.Offset), secs(s.Delay)
		}
		j.Samples = append(j.Samples, js)
	}
	return j
}

// MarshalJSON encodes r as its JSONResult.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.JSON()) }
