package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// BenchmarkSourcesProcess times `ntp-optimizer sources` against `chronyc
// sources` as whole processes, with the same flags (-n: reverse DNS
// lookups go to the network and their timeouts would dominate) against the
// same daemon with 16 sources, alternating the two in every iteration, and
// reports each one's time and the ratio ours/chronyc (below 1: faster than
// chronyc). The host's chronyc (4.3) is used for both releases: running
// 4.6's through chroot would add an exec to its time.
func BenchmarkSourcesProcess(b *testing.B) {
	bin := binary(b)
	for _, v := range chronytest.Versions {
		b.Run(string(v), func(b *testing.B) {
			d, _ := chronytest.Lab(b, v, 4, 12)
			ours := append([]string{bin}, "sources", "-n", "--chrony-socket", d.Socket)
			theirs := []string{"chronyc", "-n", "-h", d.Socket, "sources"}
			run := func(argv []string) time.Duration {
				start := time.Now()
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", argv, err, out)
				}
				return time.Since(start)
			}
			var tOurs, tTheirs time.Duration
			for b.Loop() {
				tOurs += run(ours)
				tTheirs += run(theirs)
			}
			n := time.Duration(b.N)
			b.ReportMetric(float64((tOurs/n).Microseconds())/1000, "ms/ntp-optimizer")
			b.ReportMetric(float64((tTheirs/n).Microseconds())/1000, "ms/chronyc")
			b.ReportMetric(float64(tOurs)/float64(tTheirs), "ratio-vs-chronyc")
		})
	}
}
