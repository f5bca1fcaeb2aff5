// Package metrics writes a run's figures in the Prometheus text exposition
// format for node_exporter's textfile collector
// (--collector.textfile.directory): per server its score, offset, delay,
// jitter, reach, stratum, whether it is selected and whether it is used
// with NTS; per run its duration, the time of the last successful run, how
// many selected servers use NTS, and the changes and rollbacks counters.
//
// Authentication is a gauge of its own, ntp_optimizer_server_nts (1 or 0)
// with the same server and address labels, rather than an auth label on
// every series: one series more per server, and a server whose
// authentication changes keeps its score, offset and other series instead
// of starting new ones. ntp_optimizer_selected_nts_sources counts the
// selected servers that use NTS (0 when none do), to alert on a machine
// whose authenticated sources were lost:
//
//	ntp_optimizer_selected_nts_sources == 0
//	  and on (instance) count by (instance) (ntp_optimizer_server_nts == 1) > 0
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
