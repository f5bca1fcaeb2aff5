// Package scoring turns measurements of NTP servers into a decision: which
// servers the machine should use, and why. It is pure: no I/O, no clock
// reads, no logging. Time comes in as a value (Decide's now), state comes
// in and goes out as a value (State), and every verdict carries a reason a
// person can read.
//
// All times are float64 seconds.
//
// # Scores
//
// Four sub-scores, each 0..100, are piecewise-linear, monotone curves
// anchored on the seed's metric bands (../shared/reference/ntp-practice.md):
// a metric in the "excellent" band scores above 90, "good" 75..90,
// "acceptable" 60..75, "poor" below 60 — the seed's ranges for the overall
// score, which is the weighted sum (default weights 0.35 jitter, 0.30
// reachability, 0.25 stratum, 0.10 latency). So a server whose metrics all
// lie in one band scores in that band, whatever the weights. Knots
// (between them the curve is linear, outside them flat):
//
//	jitter        0 → 100   1 ms → 90   5 ms → 75   10 ms → 60   50 ms → 20   1 s → 0
//	reachability  100 % → 100   99 % → 90   90 % → 75   80 % → 60   0 % → 0
//	stratum       1 → 100   2 → 95   3 → 82.5   4 → 67.5   5 → 50   16 → 0
//	latency       0 → 100   4 ms → 90   20 ms → 75   100 ms → 60   1.5 s → 0
//
// Jitter: seed bands < 1, 1–5, 5–10, > 10 ms; 50 ms is ntpmon's critical
// level, 1 s chrony's maxjitter. Reachability: seed bands 100 %, 90–99 %,
// 80–89 %, < 80 %; answered/sent for a probe, the reach register's bits
// for chronyd (ReachRegister). Stratum: the seed's bands share their edges
// (1–2, 2–3, 3–4, > 4); an integer stratum on an edge belongs to the better
// band, and each sits mid-band. Latency (round-trip delay): the seed has no
// latency band, so its offset bands (< 2, 2–10, 10–50, > 50 ms) are used
// as the error budget that half the round trip may take. Offset itself is
// not scored (it is the local clock's error as much as the server's); the
// falseticker filter judges it.
//
// # Hard filters
//
// Before any score counts, a candidate is rejected for: an implausible
// measurement (NaN, negative delay ...); a kiss-o'-death; no reply to any
// sample ("not measured" if none was sent); an active blacklist entry;
// being unsynchronised (leap 3, stratum 0 or ≥ 16); a stratum outside
// min_stratum..max_stratum; a root distance (root delay/2 + root
// dispersion) over max_root_distance; being a falseticker, by chronyd's
// own state or by the intersection below. A rejected server is never
// selected, whatever its score — unless it is pinned (`keep`), which puts
// it in the set regardless, with the failures in its reason.
//
// # Falsetickers
//
// Each server that answered, is synchronised, sent no KoD and is within
// max_root_distance is a witness with the correctness interval offset ±
// (delay/2 + root delay/2 + root dispersion + jitter), at least ± 1 ms
// (CorrectnessInterval). The intersection algorithm of RFC 5905 section
// 11.2.1 (Marzullo's, as ntpd's clock_select runs it) finds the interval
// a majority agrees on; a witness whose interval misses it is a
// falseticker: "falseticker: +48.2 ms outside the majority interval
// [-0.6, +0.9] ms". With no majority (two servers that disagree, or a
// three-way split) nobody can tell who is wrong, so nothing is added that
// the largest agreeing group does not corroborate: the servers whose
// intervals share a point with chronyd's selected source (else the current
// sources; with none, the one largest group of at least two). The others
// are "uncorroborated"; current sources outside the group stay until
// chronyd marks them 'x'; the decision's notes name the group.
//
// # The set
//
// In this order: pinned servers are in. The set's leap-smearing class is
// chosen (chooseClass) and never mixed. Current members that fail a hard
// filter or are of the other class leave at once; if there are more
// members than set_size, the lowest-ranked leave. Empty slots are filled
// at once from eligible servers (healthy, score ≥ min_score, right class)
// in rank order, first with at most one server per operator (catalog
// operator, else registered domain; IP literals and pool names by
// prefix), distinct upstream refids for stratum ≥ 2 and distinct /24 or
// /48 prefixes; then relaxing the prefix rule, the refid rule and the
// operator rule in turn for the slots still empty, saying so in the
// reasons and Decision.Relaxed. Then the hysteresis rules (see the
// hysteresis method's comment) decide which members give way to better
// servers. Healthy members are never dropped without a replacement when
// the set would fall below min_set_size.
//
// Ties break by address, and the input is put in address order first, so
// the decision does not depend on the order of the measurements.
//
// # Blacklist
//
// An address that answered no sample in blacklist_after_runs consecutive
// runs, or answered DENY or RSTR, is blacklisted for blacklist_base,
// doubled on each repeat up to blacklist_max (1 day, 2, 4, ... 30 days).
// An entry expires by itself at its time; it is forgotten blacklist_max
// after that, and a later offence starts again at blacklist_base.
package scoring
