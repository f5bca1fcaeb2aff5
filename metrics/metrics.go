package metrics

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Namespace prefixes every metric name.
const Namespace = "ntp_optimizer"

// Server is one candidate address of the run, answered or not. Offset,
// Delay and Jitter are NaN when not measured (no reply, or for Jitter
// fewer than two); NaN samples are left out, not written as NaN.
type Server struct {
	// Name is the host name or address the operator knows it by.
	Name string
	// Address is the IP address measured.
	Address string
	// Up is true when the server answered at least one sample this run.
	Up bool
	// Score is the weighted score, 0 to 100.
	Score float64
	// Offset is the server's clock minus this machine's (RFC 5905 θ, the
	// agent's offset_s): the opposite sign of chronyd's "Last sample" and
	// chrony_exporter's chrony_sources_last_sample_offset_seconds. Offset,
	// Delay and Jitter are in seconds.
	Offset, Delay, Jitter float64
	// Reach is the share of queries answered, 0 to 1.
	Reach float64
	// Stratum as the server reported it, written when Up, 0 included (an
	// answer with stratum 0: unspecified, or a kiss-o'-death).
	Stratum int
	// Selected is true for the servers in the applied set.
	Selected bool
	// NTS is true for a server used with Network Time Security
	// (scoring.Measurement.Auth "nts"); false for plain NTP.
	NTS bool
	// Verdict is scoring's verdict: "selected", "standby" or "rejected";
	// empty when the run decided nothing (then no verdict series).
	Verdict string
	// ReasonClass is the class of its failures (ReasonClass); empty for a
	// server that fails nothing.
	ReasonClass string
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
	// SetKnown says the servers' Selected is the daemon's set after the
	// run (applied, unchanged, outage, not persisted). When false (the run
	// failed, found nothing usable or rolled back) selected_sources and
	// selected_nts_sources are left out rather than written as 0.
	SetKnown bool
	// SetSize and MinSetSize are the configured selection.set_size and
	// selection.min_set_size; 0 leaves them out.
	SetSize, MinSetSize int
	// Duration is how long the run took.
	Duration time.Duration
	// Success is whether this run succeeded.
	Success bool
	// Outage is whether nothing answered in this run (the machine's
	// network was down); such a run is not a success either.
	Outage bool
	// RolledBack is whether this run's change failed verification and was
	// undone.
	RolledBack bool
	// Time is when this run ended.
	Time time.Time
	// LastSuccess is when a run last succeeded (this one, if Success);
	// zero when none ever did (then left out).
	LastSuccess time.Time
	// Totals are the counters including this run.
	Totals Totals
	// Build describes the binary; empty fields are taken from its build
	// information (runtime/debug), "unknown" when it has none.
	Build BuildInfo
}

// family is one metric name with its help, type and samples.
type family struct {
	name, help, typ string
	samples         []sample
}

// sample is one series: its labels, sorted by name, and the value.
type sample struct {
	labels []label
	value  float64
}

type label struct{ name, value string }

// serverLabels are the labels of every per-server series: source_address
// and source_name as chrony_exporter names them (join on source_address:
// chrony_exporter's source_name is the address's reverse DNS), and
// address and server, the names of earlier releases, kept so existing
// queries go on working.
func serverLabels(s Server) []label {
	return []label{{"address", s.Address}, {"server", s.Name}, {"source_address", s.Address}, {"source_name", s.Name}}
}

// The metric families, in the text format's sort order (by name).
func families(r Run) []*family {
	f := func(name, typ, help string) *family {
		return &family{name: Namespace + "_" + name, typ: typ, help: help}
	}
	var (
		score    = f("server_score", "gauge", "Weighted score of the server from 0 to 100 (jitter, reachability, stratum, latency).")
		offset   = f("server_offset_seconds", "gauge", "Offset of the server from this machine's system clock: server minus local (RFC 5905), the opposite sign of chrony_sources_last_sample_offset_seconds; from its lowest-delay sample or chronyd's estimate.")
		delay    = f("server_delay_seconds", "gauge", "Minimum round-trip delay to the server.")
		jitter   = f("server_jitter_seconds", "gauge", "Jitter of the server's offset (RMS of successive differences).")
		reach    = f("server_reach_ratio", "gauge", "Share of queries the server answered, 0 to 1.")
		up       = f("server_up", "gauge", "1 if the server answered at least one query in the last run, else 0.")
		stratum  = f("server_stratum", "gauge", "Stratum the server reported (0: unspecified or kiss-o'-death); left out when it did not answer.")
		selected = f("server_selected", "gauge", "1 if the server is in the applied set, else 0.")
		nts      = f("server_nts", "gauge", "1 if the server is used with Network Time Security (NTS), else 0 (plain NTP).")
		verdict  = f("server_verdict", "gauge", "Always 1: the server's verdict (selected, standby, rejected) and the class of its failures (reason_class).")
		selAll   = f("selected_sources", "gauge", "How many servers the applied set has.")
		selNTS   = f("selected_nts_sources", "gauge", "How many servers of the applied set are used with NTS.")
		setSize  = f("set_size", "gauge", "The configured selection.set_size: how many servers the set should have.")
		minSet   = f("min_set_size", "gauge", "The configured selection.min_set_size: the set is never shrunk below it.")
		duration = f("run_duration_seconds", "gauge", "Duration of the last run.")
		runTime  = f("last_run_timestamp_seconds", "gauge", "Unix time the last run ended.")
		runOK    = f("last_run_success", "gauge", "1 if the last run succeeded, else 0.")
		lastOK   = f("last_success_timestamp_seconds", "gauge", "Unix time of the last successful run.")
		changes  = f("changes_total", "counter", "Runs that changed the NTP sources.")
		rollback = f("rollbacks_total", "counter", "Runs whose change failed verification and was rolled back.")
		outage   = f("last_run_outage", "gauge", "1 if nothing answered in the last run (this machine's network was down), else 0.")
		rolled   = f("last_run_rolled_back", "gauge", "1 if the last run's change failed verification and was rolled back, else 0.")
		outages  = f("outages_total", "counter", "Runs in which nothing answered (network outages); they change nothing.")
		build    = f("build_info", "gauge", "Always 1: the version, commit and Go version of the ntp-optimizer that wrote this file.")
	)
	add := func(fam *family, v float64, labels ...label) {
		if math.IsNaN(v) {
			return // a server that never answered has no offset
		}
		fam.samples = append(fam.samples, sample{labels: labels, value: v})
	}
	nSel, nSelNTS := 0, 0
	for _, s := range r.Servers {
		ls := serverLabels(s)
		add(score, s.Score, ls...)
		add(offset, s.Offset, ls...)
		add(delay, s.Delay, ls...)
		add(jitter, s.Jitter, ls...)
		add(reach, s.Reach, ls...)
		add(up, boolValue(s.Up), ls...)
		if s.Up {
			add(stratum, float64(s.Stratum), ls...)
		}
		add(selected, boolValue(s.Selected), ls...)
		add(nts, boolValue(s.NTS), ls...)
		if s.Verdict != "" {
			add(verdict, 1, append(ls, label{"reason_class", s.ReasonClass}, label{"verdict", s.Verdict})...)
		}
		if s.Selected {
			nSel++
			if s.NTS {
				nSelNTS++
			}
		}
	}
	if r.SetKnown {
		add(selAll, float64(nSel))
		add(selNTS, float64(nSelNTS))
	}
	if r.SetSize > 0 {
		add(setSize, float64(r.SetSize))
	}
	if r.MinSetSize > 0 {
		add(minSet, float64(r.MinSetSize))
	}
	add(duration, r.Duration.Seconds())
	if !r.Time.IsZero() {
		add(runTime, unixSeconds(r.Time))
	}
	add(runOK, boolValue(r.Success))
	add(outage, boolValue(r.Outage))
	add(rolled, boolValue(r.RolledBack))
	add(outages, float64(r.Totals.Outages))
	if !r.LastSuccess.IsZero() {
		add(lastOK, unixSeconds(r.LastSuccess))
	}
	add(changes, float64(r.Totals.Changes))
	add(rollback, float64(r.Totals.Rollbacks))
	b := r.Build.orBinary()
	add(build, 1, label{"commit", b.Commit}, label{"goversion", b.GoVersion}, label{"version", b.Version})
	all := []*family{score, offset, delay, jitter, reach, up, stratum, selected, nts, verdict, selAll, selNTS,
		setSize, minSet, duration, runTime, runOK, lastOK, changes, rollback, outage, rolled, outages, build}
	slices.SortFunc(all, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return all
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
