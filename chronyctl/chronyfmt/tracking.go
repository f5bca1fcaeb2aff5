package chronyfmt

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// refTimeLayout is C's strftime "%a %b %d %T %Y".
const refTimeLayout = "Mon Jan 02 15:04:05 2006"

// Tracking writes the report as "chronyc tracking" does. The reference's
// name is its refid text when it has no address (a refclock or local);
// otherwise, per o.Names, the reverse DNS name, the address, or (for
// NamesConfigured) sourceName's answer, "?" when that fails.
func Tracking(ctx context.Context, w io.Writer, t chronyctl.Tracking, o Options, sourceName func(context.Context, chronyctl.Addr) (string, error)) error {
	var name string
	switch {
	case t.Address.IsUnspecified():
		name = t.RefName()
	case o.Names == NamesConfigured:
		n, err := "", error(nil)
		if sourceName != nil {
			n, err = sourceName(ctx, t.Address)
		}
		name = configuredName(err == nil && sourceName != nil, n)
	case o.Names == NamesNumeric:
		name = addrText(t.Address)
	default:
		r := o.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		name = lookup(ctx, r, t.Address)
	}
	_, err := fmt.Fprintf(w, "Reference ID    : %08X (%s)\n"+
		"Stratum         : %d\n"+
		"Ref time (UTC)  : %s\n"+
		"System time     : %.9f seconds %s of NTP time\n"+
		"Last offset     : %+.9f seconds\n"+
		"RMS offset      : %.9f seconds\n"+
		"Frequency       : %.3f ppm %s\n"+
		"Residual freq   : %+.3f ppm\n"+
		"Skew            : %.3f ppm\n"+
		"Root delay      : %.9f seconds\n"+
		"Root dispersion : %.9f seconds\n"+
		"Update interval : %.1f seconds\n"+
		"Leap status     : %s\n",
		t.RefID, name, t.Stratum, t.RefTime.UTC().Format(refTimeLayout),
		math.Abs(t.CurrentCorrection), slowFast(t.CurrentCorrection > 0),
		t.LastOffset, t.RMSOffset,
		math.Abs(t.FreqPPM), slowFast(!(t.FreqPPM > 0)),
		t.ResidFreqPPM, t.SkewPPM, t.RootDelay, t.RootDispersion, t.LastUpdateInterval, t.Leap)
	return err
}

// slowFast is chronyc's keyword: a positive correction means the clock is
// slow; a positive frequency means it runs fast.
func slowFast(slow bool) string {
	if slow {
		return "slow"
	}
	return "fast"
}
