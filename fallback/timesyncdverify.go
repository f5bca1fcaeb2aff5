package fallback

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// validate parses the drop-in back and the effective NTP= list.
func (t *Timesyncd) validate(c *Change) error {
	b, exists, err := readCurrent(t.cfg.Root, TimesyncdDropIn)
	if err != nil {
		return err
	}
	if c.Revert {
		if exists {
			return fmt.Errorf("parsed back: %s still exists", TimesyncdDropIn)
		}
		return nil
	}
	if got, want := parseNTPKey(b, nil), serverNames(c.Servers); !slices.Equal(got, want) {
		return fmt.Errorf("parsed back: %s has NTP=%v, want %v", TimesyncdDropIn, got, want)
	}
	eff, err := t.configured("")
	if err != nil {
		return err
	}
	if c.Policy == daemon.PolicyConverge && !slices.Equal(eff, serverNames(c.Servers)) {
		return fmt.Errorf("parsed back: timesyncd's files give NTP=%v, want %v (a drop-in sorting after ntp-optimizer.conf overrides it?)", eff, serverNames(c.Servers))
	}
	return nil
}

func (t *Timesyncd) checkActive(ctx context.Context) error {
	if t.cfg.Services == nil {
		return nil
	}
	st, err := t.cfg.Services.ActiveState(ctx, t.cfg.Unit)
	if err != nil {
		return err
	}
	if st != "active" {
		return fmt.Errorf("%s is %s", t.cfg.Unit, st)
	}
	return nil
}

// waitSynced polls timesyncd until it talks to one of the selected servers
// and has a sane reply from it received after started: stratum 1–15, leap
// not 3 (unsynchronised), a transmit time.
func (t *Timesyncd) waitSynced(ctx context.Context, names []string, started time.Time) (*TimesyncStatus, error) {
	var st *TimesyncStatus
	err := poll(ctx, t.cfg.Clock, t.cfg.VerifyTimeout, t.cfg.VerifyInterval, "timesyncd not synchronised to a selected server", func(ctx context.Context) error {
		s, err := t.cfg.Bus.Status(ctx)
		if err != nil {
			return err
		}
		st = s
		switch {
		case !slices.Contains(names, s.ServerName):
			return fmt.Errorf("timesyncd uses %q, not a selected server", s.ServerName)
		case s.DestTime.Before(started) || s.TransmitTime.IsZero():
			return fmt.Errorf("no reply from %s yet", s.ServerName)
		case s.Stratum == 0 || s.Stratum >= 16 || s.Leap == 3:
			return fmt.Errorf("%s is unsynchronised (stratum %d, leap %d)", s.ServerName, s.Stratum, s.Leap)
		}
		return nil
	})
	return st, err
}
