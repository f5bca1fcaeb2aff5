package chronyctl

import (
	"context"
	"time"

	"github.com/facebook/time/ntp/chrony"
)

// Tracking is chronyd's view of the system clock (RPY_TRACKING, chronyc
// tracking). Offsets and delays are seconds; positive CurrentCorrection
// means the system clock is slow.
type Tracking struct {
	RefID              uint32     `json:"ref_id"`
	Address            Addr       `json:"address"` // the reference source; unspecified for a refclock or local
	Stratum            int        `json:"stratum"`
	Leap               LeapStatus `json:"leap"`
	RefTime            time.Time  `json:"ref_time"` // the Unix epoch when not synchronised
	CurrentCorrection  float64    `json:"current_correction_s"`
	LastOffset         float64    `json:"last_offset_s"`
	RMSOffset          float64    `json:"rms_offset_s"`
	FreqPPM            float64    `json:"freq_ppm"` // positive: the clock runs fast without correction
	ResidFreqPPM       float64    `json:"resid_freq_ppm"`
	SkewPPM            float64    `json:"skew_ppm"`
	RootDelay          float64    `json:"root_delay_s"`
	RootDispersion     float64    `json:"root_dispersion_s"`
	LastUpdateInterval float64    `json:"last_update_interval_s"`
}

// RefName is chronyc's text for a reference without an address (a refclock
// or "local"): the printable bytes of the refid.
func (t Tracking) RefName() string { return RefIDText(t.RefID) }

// Tracking returns chronyd's tracking report (REQ_TRACKING).
func (c *Client) Tracking(ctx context.Context) (Tracking, error) {
	r, err := read[*chrony.ReplyTracking](ctx, c, chrony.NewTrackingPacket())
	if err != nil {
		return Tracking{}, err
	}
	d := r.Tracking
	return Tracking{
		RefID: d.RefID, Address: Addr{IP: ipFromNet(d.IPAddr)}, Stratum: int(d.Stratum), Leap: LeapStatus(d.LeapStatus),
		RefTime: d.RefTime.UTC(), CurrentCorrection: d.CurrentCorrection, LastOffset: d.LastOffset, RMSOffset: d.RMSOffset,
		FreqPPM: d.FreqPPM, ResidFreqPPM: d.ResidFreqPPM, SkewPPM: d.SkewPPM, RootDelay: d.RootDelay,
		RootDispersion: d.RootDispersion, LastUpdateInterval: d.LastUpdateInterval,
	}, nil
}
