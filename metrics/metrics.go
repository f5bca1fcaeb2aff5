package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Namespace prefixes every metric name.
const Namespace = "ntp_optimizer"

// Server is one measured NTP server. Offset, Delay and Jitter are NaN when
// the server never answered; the sample is then left out, not written as
// NaN.
type Server struct {
	// Name is the host name or address the operator knows it by.
	Name string
	// Address is the IP address measured.
	Address string
	// Score is the weighted score, 0 to 100.
	Score float64
	// Offset, Delay and Jitter are in seconds.
	Offset, Delay, Jitter float64
	// Reach is the share of queries answered, 0 to 1.
	Reach float64
	// Stratum as the server reported it; 0 when unknown (left out).
	Stratum int
	// Selected is true for the servers in the applied set.
	Selected bool
}

// Totals are the counters kept across runs in the agent's state.
type Totals struct {
	Changes   uint64 `json:"changes"`
	Rollbacks uint64 `json:"rollbacks"`
}

// Add returns the totals after a run that changed the sources and/or
// rolled back.
func (t Totals) Add(changed, rolledBack bool) Totals {
	if changed {
		t.Changes++
	}
	if rolledBack {
		t.Rollbacks++
	}
	return t
}

// Run is everything one file holds.
type Run struct {
	Servers []Server
	// Duration is how long the run took.
	Duration time.Duration
	// Success is whether this run succeeded.
	Success bool
	// Time is when this run ended.
	Time time.Time
	// LastSuccess is when a run last succeeded (this one, if Success);
	// zero when none ever did (then left out).
	LastSuccess time.Time
	// Totals are the counters including this run.
	Totals Totals
}

var serverLabels = []string{"server", "address"}

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	descScore     = desc("server_score", "Weighted score of the server from 0 to 100 (jitter, reachability, stratum, latency).", serverLabels)
	descOffset    = desc("server_offset_seconds", "Offset of the server from the local clock, from its lowest-delay sample.", serverLabels)
	descDelay     = desc("server_delay_seconds", "Minimum round-trip delay to the server.", serverLabels)
	descJitter    = desc("server_jitter_seconds", "Jitter of the server's offset (RMS of successive differences).", serverLabels)
	descReach     = desc("server_reach_ratio", "Share of queries the server answered, 0 to 1.", serverLabels)
	descStratum   = desc("server_stratum", "Stratum the server reported.", serverLabels)
	descSelected  = desc("server_selected", "1 if the server is in the applied set, else 0.", serverLabels)
	descDuration  = desc("run_duration_seconds", "Duration of the last run.", nil)
	descRunTime   = desc("last_run_timestamp_seconds", "Unix time the last run ended.", nil)
	descRunOK     = desc("last_run_success", "1 if the last run succeeded, else 0.", nil)
	descLastOK    = desc("last_success_timestamp_seconds", "Unix time of the last successful run.", nil)
	descChanges   = desc("changes_total", "Runs that changed the NTP sources.", nil)
	descRollbacks = desc("rollbacks_total", "Runs whose change failed verification and was rolled back.", nil)
)

// collector turns a Run into constant metrics.
type collector struct{ run Run }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descScore, descOffset, descDelay, descJitter, descReach,
		descStratum, descSelected, descDuration, descRunTime, descRunOK, descLastOK, descChanges, descRollbacks} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		if math.IsNaN(v) {
			return
		}
		ch <- constMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.run.Servers {
		gauge(descScore, s.Score, s.Name, s.Address)
		gauge(descOffset, s.Offset, s.Name, s.Address)
		gauge(descDelay, s.Delay, s.Name, s.Address)
		gauge(descJitter, s.Jitter, s.Name, s.Address)
		gauge(descReach, s.Reach, s.Name, s.Address)
		if s.Stratum > 0 {
			gauge(descStratum, float64(s.Stratum), s.Name, s.Address)
		}
		gauge(descSelected, boolValue(s.Selected), s.Name, s.Address)
	}
	gauge(descDuration, c.run.Duration.Seconds())
	if !c.run.Time.IsZero() {
		gauge(descRunTime, unixSeconds(c.run.Time))
	}
	gauge(descRunOK, boolValue(c.run.Success))
	if !c.run.LastSuccess.IsZero() {
		gauge(descLastOK, unixSeconds(c.run.LastSuccess))
	}
	ch <- constMetric(descChanges, prometheus.CounterValue, float64(c.run.Totals.Changes))
	ch <- constMetric(descRollbacks, prometheus.CounterValue, float64(c.run.Totals.Rollbacks))
}

// constMetric is NewConstMetric whose error (e.g. a label value that is not
// UTF-8) fails Gather instead of panicking.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// Write encodes r in the text exposition format.
func Write(w io.Writer, r Run) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(collector{run: r}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// ErrFileName is returned for a metrics file whose name the textfile
// collector would ignore.
var ErrFileName = errors.New("metrics file name must end in .prom")

// WriteFile writes r to path atomically with mode 0644 whatever the umask
// (node_exporter runs as another user), for the textfile
// collector. path must end in ".prom" and its directory must exist.
func WriteFile(path string, r Run) error {
	if !strings.HasSuffix(filepath.Base(path), ".prom") || filepath.Base(path) == ".prom" {
		return fmt.Errorf("%w: %q", ErrFileName, path)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		return err
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644, renameio.WithStaticPermissions(0o644)); err != nil {
		return fmt.Errorf("writing metrics file: %w", err)
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
