// Package metrics writes a run's figures in the Prometheus text exposition
// format for node_exporter's textfile collector
// (--collector.textfile.directory): per server its score, offset, delay,
// jitter, reach, stratum and whether it is selected; per run its duration,
// the time of the last successful run, and the changes and rollbacks
// counters.
//
// The text format (version 0.0.4) is written here rather than with
// github.com/prometheus/client_golang: that library's package init
// registers collectors and pulls in protobuf, which cost every
// ntp-optimizer process (`sources` included) about a millisecond at start.
// The writer sorts families and series, escapes HELP and label values,
// rejects non-UTF-8 label values and duplicate series, and leaves NaN
// out; the tests check its output with `promtool check metrics` and parse
// it back with Prometheus' own expfmt parser. The file is written with
// github.com/google/renameio/v2 (temp file in the same directory, fsync,
// rename), so the collector never reads half a file.
//
// Counters must only grow across runs: the caller keeps the totals in its
// state and passes them in (Totals.Add).
package metrics
