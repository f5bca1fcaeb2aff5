package chronyctl_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// sourcesTarget is the bound for the merged view of 16 sources.
const sourcesTarget = 20 * time.Millisecond

// BenchmarkSources reads the full merged view (sourcedata, sourcestats,
// selectdata, ntpdata, name: 1 + 16×5 requests) from a real chronyd with
// 16 sources (4 answering servers, 12 silent addresses) and reports
// ms/op and its ratio to the 20 ms target.
func BenchmarkSources(b *testing.B) {
	for _, v := range chronytest.Versions {
		b.Run(string(v), func(b *testing.B) {
			d, _ := chronytest.Lab(b, v, 4, 12)
			c := d.Client(b)
			ctx := context.Background()
			for _, parts := range []struct {
				name  string
				parts chronyctl.Parts
			}{{"merged", chronyctl.PartAll}, {"sourcedata-only", 0}} {
				b.Run(parts.name, func(b *testing.B) {
					start := time.Now()
					for b.Loop() {
						srcs, err := c.SourcesParts(ctx, parts.parts)
						if err != nil {
							b.Fatal(err)
						}
						if len(srcs) != 16 {
							b.Fatalf("%d sources", len(srcs))
						}
					}
					per := time.Since(start) / time.Duration(b.N)
					b.ReportMetric(float64(per.Microseconds())/1000, "ms/op")
					b.ReportMetric(float64(per)/float64(sourcesTarget), "ratio-vs-20ms")
				})
			}
		})
	}
}
