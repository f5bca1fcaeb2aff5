package prober

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Kiss codes that end probing (RFC 5905 section 7.4).
const (
	KissRate = "RATE" // slow down: stop this run, back off across runs
	KissDeny = "DENY" // access denied: stop and do not use
	KissRstr = "RSTR" // access restricted: stop and do not use
)

// stopsProbing reports whether kiss code k ends probing of an address.
func stopsProbing(k string) bool { return k == KissRate || k == KissDeny || k == KissRstr }

// unsynchronized reports whether a usable reply says the server is not
// synchronised (RFC 5905 section 7.3: leap 3; stratum 0 unspecified,
// 16 unsynchronised).
func unsynchronized(s Sample) bool { return s.Leap == 3 || s.Stratum == 0 || s.Stratum >= 16 }

// summarize fills r's per-address fields from r.Samples.
func summarize(r *Result) {
	forgeries(r)
	var ok []Sample
	r.SamplesSent, r.SamplesOK = 0, 0
	r.NoRoute = len(r.Samples) > 0
	for _, s := range r.Samples {
		r.NoRoute = r.NoRoute && s.NoRoute
		if !s.Sent.IsZero() {
			r.SamplesSent++
		}
		if s.KoD != "" && r.KoD == "" {
			r.KoD = s.KoD
		}
		if s.OK {
			ok = append(ok, s)
			if unsynchronized(s) {
				r.Unsynchronized = true
			}
		}
	}
	r.SamplesOK = len(ok)
	r.RateLimited = r.KoD == KissRate
	r.Blacklist = r.KoD == KissDeny || r.KoD == KissRstr
	if r.SamplesSent > 0 {
		r.Reach = float64(r.SamplesOK) / float64(r.SamplesSent)
	}
	if len(ok) == 0 {
		return
	}
	best := ok[0]
	for _, s := range ok[1:] {
		if s.Delay < best.Delay {
			best = s
		}
	}
	r.Offset, r.Delay = best.Offset, best.Delay
	r.Stratum, r.Leap, r.RefID = best.Stratum, best.Leap, best.RefID
	r.RootDelay, r.RootDispersion, r.Precision = best.RootDelay, best.RootDispersion, best.Precision
	r.RootDistance = (best.RootDelay+best.Delay)/2 + best.RootDispersion

	offs := make([]time.Duration, len(ok))
	var sum float64
	for i, s := range ok {
		offs[i] = s.Offset
		if s.Seq != best.Seq {
			d := float64(s.Offset - best.Offset)
			sum += d * d
		}
	}
	slices.Sort(offs)
	if n := len(offs); n%2 == 1 {
		r.MedianOffset = offs[n/2]
	} else {
		r.MedianOffset = offs[n/2-1] + (offs[n/2]-offs[n/2-1])/2
	}
	if len(ok) >= 2 {
		r.Jitter = time.Duration(math.Sqrt(sum / float64(len(ok)-1)))
	}
}

// forgeries moves the wrong-origin datagrams counted while the samples ran
// onto the samples, sums them on r and, where a sample or the whole
// address still failed, says so in the reason: a server whose genuine
// replies never came may be hidden behind a forger, not silent.
func forgeries(r *Result) {
	counted := r.forged != nil // once: summarize may run again on r
	for i := range r.Samples {
		s := &r.Samples[i]
		if n := r.forged[s.Seq]; n > 0 {
			s.Forged = n
			if !s.OK {
				s.Err = cmp.Or(s.Err, "no usable reply") + "; " + forgedNote(n)
			}
		}
	}
	r.forged = nil
	r.Forged = 0
	ok := false
	for _, s := range r.Samples {
		r.Forged += s.Forged
		ok = ok || s.OK
	}
	if counted && r.Forged > 0 && !ok {
		r.Err = cmp.Or(r.Err, "no usable reply") + "; " + forgedNote(r.Forged)
	}
}

// forgedNote says n wrong-origin datagrams were discarded.
func forgedNote(n int) string {
	what := "forged replies"
	if n == 1 {
		what = "forged reply"
	}
	return fmt.Sprintf("%d %s discarded (wrong origin timestamp: stale or spoofed)", n, what)
}
