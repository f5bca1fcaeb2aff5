// Package prober measures NTP servers directly, fast and politely, with
// github.com/beevik/ntp.
//
// Each target (a name or address, an optional port and an operator's
// minimum spacing) is resolved to all its A and AAAA addresses, and every
// address is measured on its own, all addresses in parallel:
//
//   - at most Config.Samples (default 4, never more than MaxSamples = 8)
//     requests per address per run;
//   - consecutive requests to one address at least max(Config.Spacing,
//     Target.MinSpacing) apart, and never less than MinPublicSpacing (2 s)
//     apart for an address outside 127.0.0.0/8 and ::1, whatever the
//     configuration says; the spacing (plus a guard of spacing/200, at
//     least 1 ms, for path jitter) is timed from the moment the previous
//     packet was actually written, inside the query, so a slow dial or a
//     descheduled goroutine cannot bunch two packets together;
//   - at most Config.MaxInFlight (default 128) queries, and so UDP sockets,
//     open at once over the whole run;
//   - a lost request does not delay the next one (each request has its own
//     socket and waits for its reply while the schedule goes on); the last
//     request of an address waits only Config.FinalWaitFactor × the largest
//     delay seen from that address, at least Config.FinalWaitMin, instead of
//     the full Config.Timeout, and when it is done the address is done;
//   - a kiss-o'-death RATE, DENY or RSTR stops that address at once; DENY
//     and RSTR also mark it for the blacklist.
//
// Unresolvable names, unreachable networks (e.g. no IPv6 route), timeouts
// and garbage replies (short, wrong mode, zero or inconsistent timestamps,
// unknown version) are reported in the results, per sample and per
// address, never as a failure of the run. A reply whose origin timestamp is
// not the request's (stale or spoofed) is discarded and counted (Forged),
// and the sample waits on for the genuine reply until its deadline.
//
// Per address the result carries the RFC 5905 clock-filter offset (the
// offset of the lowest-delay sample), the median offset, the minimum delay,
// the jitter (RMS of the other samples' offset differences from the
// lowest-delay one), the reach (usable replies / requests sent), the root
// distance, the unsynchronised and KoD flags, and every sample.
//
// PreflightNTS checks a server before it is added to chronyd with nts, as
// chronyd's own NTS client would see it (nts_ke_client.c,
// nts_ntp_client.c): one NTS-KE (RFC 8915) per address, TLS 1.3 with ALPN
// ntske/1, the certificate verified for the server's name against the
// system CAs and chrony.conf's ntstrustedcerts (nocerttimecheck and
// nosystemcert honoured), AES-SIV-CMAC-256, 1..8 cookies chronyd would
// take, the negotiated NTP server and port; then authenticated NTP
// requests (unique identifier, cookie, authenticator) whose replies count
// only with the unique identifier echoed and the server's authenticator
// verified. The offset and delay come from those replies; a failure is one
// of the ErrNTS* reasons.
package prober
