package ntplab_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/beevik/ntp"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

func query(t *testing.T, s *ntplab.Server) (*ntp.Response, error) {
	t.Helper()
	return ntp.QueryWithOptions(s.Addr().String(), ntp.QueryOptions{Timeout: 300 * time.Millisecond})
}

// TestServerReplies checks, with beevik/ntp as an independent client, that
// each profile field reaches the wire as documented.
func TestServerReplies(t *testing.T) {
	lab := labtest.Start(t, labtest.Scenario(t, "replies",
		ntplab.Profile{Name: "s1", Stratum: 1, RefID: "PPS", Offset: 25 * time.Millisecond, Delay: 3 * time.Millisecond,
			RootDispersion: 2 * time.Millisecond, Leap: 1},
		ntplab.Profile{Name: "asym", Stratum: 3, RefID: "10.1.2.3", Offset: -40 * time.Millisecond, Delay: 5 * time.Millisecond,
			Asymmetry: 4 * time.Millisecond, RootDelay: 30 * time.Millisecond},
		ntplab.Profile{Name: "unsync", Unsynchronized: true, Delay: time.Millisecond},
		ntplab.Profile{Name: "deny", KoD: "DENY", Delay: time.Millisecond},
		ntplab.Profile{Name: "dead", Silent: true},
	))
	tests := []struct {
		name  string
		check func(t *testing.T, r *ntp.Response, err error)
	}{
		{"s1", func(t *testing.T, r *ntp.Response, err error) {
			require.NoError(t, err)
			require.EqualValues(t, 1, r.Stratum)
			require.Equal(t, ".PPS.", r.ReferenceString())
			require.Equal(t, ntp.LeapAddSecond, r.Leap)
			require.InDelta(t, 0.025, r.ClockOffset.Seconds(), 0.0005)
			require.InDelta(t, 0.006, r.RTT.Seconds(), 0.003)
			require.InDelta(t, 0.002, r.RootDispersion.Seconds(), 0.0001)
			// Transmit minus reference time is the age plus the reply timer's lateness.
			require.InDelta(t, ntplab.DefaultRefAge.Seconds(), r.Time.Sub(r.ReferenceTime).Seconds(), 0.01)
			require.NoError(t, r.Validate())
		}},
		{"asym", func(t *testing.T, r *ntp.Response, err error) {
			require.NoError(t, err)
			require.EqualValues(t, 3, r.Stratum)
			require.Equal(t, "10.1.2.3", r.ReferenceString())
			// offset = true offset + asymmetry/2
			require.InDelta(t, -0.040+0.002, r.ClockOffset.Seconds(), 0.0005)
			require.InDelta(t, 0.030, r.RootDelay.Seconds(), 0.0001)
		}},
		{"unsync", func(t *testing.T, r *ntp.Response, err error) {
			require.NoError(t, err)
			require.EqualValues(t, 0, r.Stratum)
			require.Equal(t, ntp.LeapNotInSync, r.Leap)
			require.Empty(t, r.KissCode)
		}},
		{"deny", func(t *testing.T, r *ntp.Response, err error) {
			require.NoError(t, err)
			require.True(t, r.IsKissOfDeath())
			require.Equal(t, "DENY", r.KissCode)
		}},
		{"dead", func(t *testing.T, _ *ntp.Response, err error) {
			require.Error(t, err)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := lab.Server(tc.name)
			r, err := query(t, s)
			tc.check(t, r, err)
			require.Equal(t, 1, s.Stats().Received)
		})
	}
}

func TestEvenLoss(t *testing.T) {
	tests := []struct {
		loss float64
		n    int
	}{{0.25, 8}, {0.5, 6}, {0.1, 10}, {1, 3}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.loss), func(t *testing.T) {
			lab := labtest.Start(t, labtest.Scenario(t, "loss",
				ntplab.Profile{Name: "l", Loss: tc.loss, Delay: 200 * time.Microsecond}))
			s := lab.Server("l")
			ok := 0
			for range tc.n {
				if _, err := ntp.QueryWithOptions(s.Addr().String(), ntp.QueryOptions{Timeout: 100 * time.Millisecond}); err == nil {
					ok++
				}
			}
			want := float64(tc.n) * (1 - tc.loss)
			require.InDelta(t, want, float64(ok), 1, "answered %d of %d", ok, tc.n)
			st := s.Stats()
			require.Equal(t, tc.n, st.Received)
			require.Equal(t, tc.n-ok, st.Lost)
		})
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		action  string
		wantKoD bool
	}{{ntplab.ActionKoD, true}, {ntplab.ActionDrop, false}}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			lab := labtest.Start(t, labtest.Scenario(t, "rl", ntplab.Profile{Name: "r", Delay: 100 * time.Microsecond,
				RateLimit: &ntplab.RateLimit{Interval: time.Hour, Burst: 2, Action: tc.action}}))
			s := lab.Server("r")
			for i := range 2 {
				r, err := query(t, s)
				require.NoError(t, err, "request %d is within the burst", i)
				require.False(t, r.IsKissOfDeath())
			}
			r, err := query(t, s)
			if tc.wantKoD {
				require.NoError(t, err)
				require.Equal(t, "RATE", r.KissCode)
			} else {
				require.Error(t, err)
			}
			require.Equal(t, 1, s.Stats().RateLimited)
		})
	}
}

func TestStatsGap(t *testing.T) {
	lab := labtest.Start(t, labtest.Scenario(t, "gap", ntplab.Profile{Name: "g", Delay: 100 * time.Microsecond}))
	s := lab.Server("g")
	for range 3 {
		_, err := query(t, s)
		require.NoError(t, err)
		time.Sleep(30 * time.Millisecond)
	}
	st := s.Stats()
	require.Equal(t, 3, st.Received)
	require.Equal(t, 3, st.Replied)
	require.GreaterOrEqual(t, st.MinGap, 30*time.Millisecond)
	n, gap := s.ClientStats(netip.MustParseAddr("127.0.0.1"))
	require.Equal(t, 3, n)
	require.Equal(t, st.MinGap, gap)
}
