// Package metrics writes a run's figures in the Prometheus text exposition
// format for node_exporter's textfile collector
// (--collector.textfile.directory): per server its score, offset, delay,
// jitter, reach, stratum and whether it is selected; per run its duration,
// the time of the last successful run, and the changes and rollbacks
// counters.
//
// The file is built with github.com/prometheus/client_golang (a private
// registry of constant metrics, gathered and encoded by expfmt), which
// checks names, label values, duplicates and escaping, and sorts the
// output; it is written with github.com/google/renameio/v2 (temp file in
// the same directory, fsync, rename), so the collector never reads half a
// file. client_golang's own WriteToTextfile is not used because it does not
// fsync.
//
// Counters must only grow across runs: the caller keeps the totals in its
// state and passes them in (Totals.Add).
package metrics
