package chronyfmt

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// SourcesLegend is what "chronyc sources -v" prints before the header.
const SourcesLegend = `
  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.
 / .- Source state '*' = current best, '+' = combined, '-' = not combined,
| /             'x' = may be in error, '~' = too variable, '?' = unusable.
||                                                 .- xxxx [ yyyy ] +/- zzzz
||      Reachability register (octal) -.           |  xxxx = adjusted offset,
||      Log2(Polling interval) --.      |          |  yyyy = measured offset,
||                                \     |          |  zzzz = estimated error.
||                                 |    |           \
`

// SourcesHeader is the sources table's header line (79 characters, with
// chronyc's trailing spaces).
const SourcesHeader = "MS Name/IP address         Stratum Poll Reach LastRx Last sample               "

// Sources writes the sources table as "chronyc sources" does: the legend
// with Verbose, the header and its rule, and one row per source in
// chronyd's order, skipping unresolved (ID#) sources unless All.
func Sources(ctx context.Context, w io.Writer, srcs []chronyctl.Source, o Options) error {
	shown := make([]chronyctl.Source, 0, len(srcs))
	for _, s := range srcs {
		if o.All || !s.Address.IsID() {
			shown = append(shown, s)
		}
	}
	names := SourceNames(ctx, shown, o)
	var b strings.Builder
	if o.Verbose {
		b.WriteString(SourcesLegend)
	}
	b.WriteString(SourcesHeader + "\n" + strings.Repeat("=", len(SourcesHeader)) + "\n")
	for i, s := range shown {
		fmt.Fprintf(&b, "%c%c %-27s  %2d  %2d   %3o  %s  %s[%s] +/- %s\n",
			s.Mode.Char(), s.State.Char(), names[i], s.Stratum, s.Poll, s.Reach,
			Interval(s.LastRx), SignedTime(s.Offset), SignedTime(s.MeasuredOffset), Time(s.OffsetError))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
