package metrics

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/renameio/v2"
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
	// NTS is true for a server used with Network Time Security
	// (scoring.Measurement.Auth "nts"); false for plain NTP.
	NTS bool
}

// Totals are the counters kept across runs in the agent's state.
type Totals struct {
	Changes   uint64 `json:"changes"`
	Rollbacks uint64 `json:"rollbacks"`
	Outages   uint64 `json:"outages"`
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
	// Outage is whether nothing answered in this run (the machine's
	// network was down); such a run is not a success either.
	Outage bool
	// Time is when this run ended.
	Time time.Time
	// LastSuccess is when a run last succeeded (this one, if Success);
	// zero when none ever did (then left out).
	LastSuccess time.Time
	// Totals are the counters including this run.
	Totals Totals
}

// family is one metric name with its help, type and samples.
type family struct {
	name, help, typ string
	samples         []sample
}

// sample is one series: label values for server and address (none for
// run-level metrics) and the value.
type sample struct {
	server, address string
	value           float64
}

// The metric families, in the text format's sort order (by name).
func families(r Run) []*family {
	f := func(name, typ, help string) *family {
		return &family{name: Namespace + "_" + name, typ: typ, help: help}
	}
	var (
		score    = f("server_score", "gauge", "Weighted score of the server from 0 to 100 (jitter, reachability, stratum, latency).")
		offset   = f("server_offset_seconds", "gauge", "Offset of the server from this machine's system clock (server minus local, RFC 5905), from its lowest-delay sample or chronyd's estimate.")
		delay    = f("server_delay_seconds", "gauge", "Minimum round-trip delay to the server.")
		jitter   = f("server_jitter_seconds", "gauge", "Jitter of the server's offset (RMS of successive differences).")
		reach    = f("server_reach_ratio", "gauge", "Share of queries the server answered, 0 to 1.")
		stratum  = f("server_stratum", "gauge", "Stratum the server reported.")
		selected = f("server_selected", "gauge", "1 if the server is in the applied set, else 0.")
		nts      = f("server_nts", "gauge", "1 if the server is used with Network Time Security (NTS), else 0 (plain NTP).")
		selNTS   = f("selected_nts_sources", "gauge", "How many servers of the applied set are used with NTS.")
		duration = f("run_duration_seconds", "gauge", "Duration of the last run.")
		runTime  = f("last_run_timestamp_seconds", "gauge", "Unix time the last run ended.")
		runOK    = f("last_run_success", "gauge", "1 if the last run succeeded, else 0.")
		lastOK   = f("last_success_timestamp_seconds", "gauge", "Unix time of the last successful run.")
		changes  = f("changes_total", "counter", "Runs that changed the NTP sources.")
		rollback = f("rollbacks_total", "counter", "Runs whose change failed verification and was rolled back.")
		outage   = f("last_run_outage", "gauge", "1 if nothing answered in the last run (this machine's network was down), else 0.")
		outages  = f("outages_total", "counter", "Runs in which nothing answered (network outages); they change nothing.")
	)
	add := func(fam *family, v float64, labels ...string) {
		if math.IsNaN(v) {
			return // a server that never answered has no offset
		}
		s := sample{value: v}
		if len(labels) == 2 {
			s.server, s.address = labels[0], labels[1]
		}
		fam.samples = append(fam.samples, s)
	}
	nSelNTS := 0
	for _, s := range r.Servers {
		add(score, s.Score, s.Name, s.Address)
		add(offset, s.Offset, s.Name, s.Address)
		add(delay, s.Delay, s.Name, s.Address)
		add(jitter, s.Jitter, s.Name, s.Address)
		add(reach, s.Reach, s.Name, s.Address)
		if s.Stratum > 0 {
			add(stratum, float64(s.Stratum), s.Name, s.Address)
		}
		add(selected, boolValue(s.Selected), s.Name, s.Address)
		add(nts, boolValue(s.NTS), s.Name, s.Address)
		if s.Selected && s.NTS {
			nSelNTS++
		}
	}
	add(selNTS, float64(nSelNTS))
	add(duration, r.Duration.Seconds())
	if !r.Time.IsZero() {
		add(runTime, unixSeconds(r.Time))
	}
	add(runOK, boolValue(r.Success))
	add(outage, boolValue(r.Outage))
	add(outages, float64(r.Totals.Outages))
	if !r.LastSuccess.IsZero() {
		add(lastOK, unixSeconds(r.LastSuccess))
	}
	add(changes, float64(r.Totals.Changes))
	add(rollback, float64(r.Totals.Rollbacks))
	all := []*family{score, offset, delay, jitter, reach, stratum, selected, nts, selNTS, duration, runTime, runOK, lastOK,
		changes, rollback, outage, outages}
	slices.SortFunc(all, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return all
}

// Write encodes r in Prometheus' text exposition format (version 0.0.4):
// families sorted by name, series by label values, label values escaped,
// NaN values left out. A label value that is not UTF-8, or a server listed
// twice, is an error (Prometheus would reject the file).
func Write(w io.Writer, r Run) error {
	var b strings.Builder
	for _, fam := range families(r) {
		if len(fam.samples) == 0 {
			continue
		}
		slices.SortFunc(fam.samples, func(a, b sample) int {
			return cmp.Or(strings.Compare(a.server, b.server), strings.Compare(a.address, b.address))
		})
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam.name, helpEscaper.Replace(fam.help), fam.name, fam.typ)
		for i, s := range fam.samples {
			if !utf8.ValidString(s.server) || !utf8.ValidString(s.address) {
				return fmt.Errorf("metrics: %s: label value %q is not UTF-8", fam.name, s.server+" "+s.address)
			}
			if i > 0 && s.server == fam.samples[i-1].server && s.address == fam.samples[i-1].address {
				return fmt.Errorf("metrics: %s: server %q (%s) listed twice", fam.name, s.server, s.address)
			}
			b.WriteString(fam.name)
			if s.server != "" || s.address != "" {
				// Label names in lexical order, as Prometheus' own encoder writes them.
				fmt.Fprintf(&b, `{address="%s",server="%s"}`, labelEscaper.Replace(s.address), labelEscaper.Replace(s.server))
			}
			b.WriteString(" " + formatValue(s.value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Escaping as the text format specifies: backslash and newline in HELP,
// and also the double quote in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// formatValue writes a sample value as the text format does.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
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

// File is the textfile collector's file of one machine (paths.metrics_file).
type File struct{ Path string }

// Write writes r to the file (see WriteFile).
func (f File) Write(r Run) error { return WriteFile(f.Path, r) }
