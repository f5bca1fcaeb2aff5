// Package metrics writes a run's figures in the Prometheus text exposition
// format for node_exporter's textfile collector
// (--collector.textfile.directory).
//
// # What is written
//
// Per candidate address of the run, answered or not: its score, offset,
// delay, jitter, reach, whether it answered (server_up), its stratum,
// whether it is selected, whether it is used with NTS, and its verdict. A
// server that never answered has series too (up 0, reach_ratio 0, its
// score and verdict) but no offset, delay, jitter or stratum: those were
// not measured and are left out rather than written as 0 or NaN (jitter
// also needs two answers). An answer with stratum 0 (unspecified, or a
// kiss-o'-death) is written as 0.
//
// ntp_optimizer_server_verdict is always 1 and carries scoring's verdict
// (verdict="selected", "standby" or "rejected") and the class of the
// server's failures, reason_class: one of falseticker, unsynchronised,
// kod, no_reply, blacklisted, stratum, root_distance, nts, uncorroborated,
// not_measured, score (rejected for its score alone) or other (see
// ReasonClass); no reason_class for a server that fails nothing. A kept
// member can be selected and still have a class ("kept for now: no
// reply"). The free-text reason stays in the report and the history, not
// in a label.
//
// Per run: its duration, when it ended, whether it succeeded, found an
// outage or rolled back, the time of the last successful run, the changes, rollbacks and
// outages counters, the configured set_size and min_set_size, and
// ntp_optimizer_build_info{version,commit,goversion} 1. The applied set's
// size, selected_sources and selected_nts_sources, is written only when
// the run knows the daemon's set after it (applied, unchanged, outage, not
// persisted): a failed, rolled-back or no-usable run leaves them out
// instead of writing a 0 that an alert on the set's size would take for an
// empty set. Counters must only grow across runs: the caller keeps the
// totals in its state and passes them in (Totals.Add).
//
// # Joining chrony_exporter
//
// Per-server series carry source_address and source_name, the label names
// of chrony_exporter's chrony_sources_* series, and address and server,
// the names of earlier releases, with the same values, so queries written
// for either keep working. Join on source_address: chrony_exporter's
// source_name is the address's reverse DNS name (comma-separated), ours the
// name the server was configured or discovered by. node_exporter and
// chrony_exporter are different targets, so their instance labels differ
// (host:9100, host:9123): select one machine on each side, or join on a
// label both share (a host label set by relabelling) and source_address:
//
//	ntp_optimizer_server_offset_seconds{instance="db1:9100"}
//	  + on (source_address) chrony_sources_last_sample_offset_seconds{instance="db1:9123"}
//
// is the difference between our measurement and chronyd's (a sum, because
// the signs are opposite: see below).
//
// # Offset sign
//
// ntp_optimizer_server_offset_seconds is the server's clock minus this
// machine's (RFC 5905 θ, the agent's offset_s in probe and apply --json):
// positive when the local clock is behind. That is the opposite sign of
// chronyc's "Last sample" and chrony_exporter's
// chrony_sources_last_sample_offset_seconds (sourcestats.c stores
// -sample->offset: "positive means the local clock is FAST of the
// source"). To plot both on one axis, negate one of them; the sum above is
// 0 when both agree.
//
// # Cardinality
//
// Each run rewrites the whole file, so an address that left the candidate
// list, or a verdict or reason class that changed, disappears from the
// file at the next run (within one timer interval, 6 h by default) and
// Prometheus marks its series stale at the next scrape after that. Per
// family there is one series per candidate address: at most
// max_servers_to_test names (default 20) times their addresses, plus
// chronyd's own sources; server_verdict has one series per address too,
// with a fixed set of verdicts and reason classes.
//
// Authentication is a gauge of its own, ntp_optimizer_server_nts (1 or 0),
// rather than an auth label on every series: a server whose
// authentication changes keeps its score, offset and other series instead
// of starting new ones. ntp_optimizer_selected_nts_sources counts the
// selected servers that use NTS, to alert on a machine whose authenticated
// sources were lost (deploy/prometheus/ntp-optimizer.rules.yml).
//
// # The encoder
//
// The text format (version 0.0.4) is written here, about a hundred lines,
// rather than with github.com/prometheus/client_golang's
// prometheus.WriteToTextfile. That library's package init registers
// collectors and pulls in protobuf, which cost every ntp-optimizer process
// (`sources` included) about a millisecond at start; and WriteToTextfile
// renames its temporary file without an fsync, so a crash can leave an
// empty file. The writer sorts families, series and label names, escapes
// HELP and label values, leaves empty label values (as Prometheus does)
// and NaN out, and rejects non-UTF-8 label values and duplicate series;
// the tests check its output with `promtool check metrics` and parse it
// back with Prometheus' own expfmt parser. The file is written with
// github.com/google/renameio/v2 (temp file in the same directory, fsync,
// rename), so the collector never reads half a file. Should the format
// need more (histograms, exemplars, OpenMetrics), client_golang is the
// way, not a bigger encoder here.
package metrics
