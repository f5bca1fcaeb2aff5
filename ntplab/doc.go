// Package ntplab runs simulated NTP servers with a known ground truth, for
// tests, benchmarks and the demo.
//
// Each [Server] is bound to its own UDP address (by default 127.0.0.x:123,
// any address and port is allowed) and behaves as its [Profile] says: a true
// clock offset from the host clock, one-way delays with a mean, a jitter and
// an asymmetry, a loss rate, a stratum, reference ID, leap indicator and
// reference time, an optional kiss code and a chrony-like rate limit. It
// echoes the client's transmit timestamp as the origin timestamp, so real
// clients (beevik/ntp, chronyd, ntpd) accept its replies, and it counts the
// requests it received and their spacing per client address, so tests can
// check a client's politeness.
//
// # What a client measures
//
// For a request that arrives at host time a, the server draws an outbound
// delay d_out and a return delay d_back, stamps its receive timestamp as
// a + d_out + Offset (as if the request had travelled d_out), sends the
// reply at host time s >= a + d_out + d_back and stamps its transmit
// timestamp as s - d_back + Offset. A client computing the RFC 5905 offset
// and delay from the four timestamps therefore sees
//
//	offset = Offset + (d_out - d_back)/2 + (loopback terms, tens of µs)
//	delay  = d_out + d_back + (loopback terms)
//
// Any lateness of the server's own timer only shows up as server processing
// time (t3 - t2), which NTP subtracts, so it does not bias the offset.
//
// d_out and d_back are independent normal draws with standard deviation
// Jitter and means Delay + Asymmetry/2 and Delay - Asymmetry/2 (truncated at
// zero; [Profile.Validate] keeps that below 0.2 % of draws). Consequences
// a test can rely on:
//
//   - The mean offset error is Asymmetry/2.
//   - The offset of one exchange varies with standard deviation Jitter/√2,
//     so the difference between two exchanges' offsets has standard
//     deviation Jitter.
//   - For normal draws, d_out - d_back is independent of d_out + d_back, so
//     choosing the lowest-delay sample (the RFC 5905 clock filter) does not
//     bias its offset, and the expected square of the client's jitter (RMS
//     of the other samples' offset differences from the lowest-delay one) is
//     exactly Jitter². One address's jitter from n samples is a noisy
//     estimate (about ±40 % at n = 4); averaging jitter² over many addresses
//     with the same profile converges on Jitter².
//
// # Loss
//
// With the default "even" loss pattern a server with loss rate L drops the
// k-th request it receives exactly when floor((k+1)L + φ) > floor(kL + φ),
// for a phase φ drawn once per server: drops are spread evenly, so any n
// consecutive requests lose nL rounded down or up. The "random" pattern
// drops each request independently with probability L.
package ntplab
