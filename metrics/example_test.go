package metrics_test

import (
	"os"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/metrics"
)

func ExampleWrite() {
	_ = metrics.Write(os.Stdout, metrics.Run{
		Servers: []metrics.Server{{Name: "time.example.test", Address: "192.0.2.1", Score: 94.5,
			Offset: 0.0012, Delay: 0.012, Jitter: 0.0004, Reach: 1, Stratum: 2, Up: true, Selected: true, NTS: true, Verdict: "selected"}},
		SetKnown:   true,
		SetSize:    4,
		MinSetSize: 3,
		Duration:   41 * time.Second,
		Success:    true,
		Totals:     metrics.Totals{Changes: 3},
		Build:      metrics.BuildInfo{Version: "v1.2.0", Commit: "2545fdd0e3c1", GoVersion: "go1.26.8"},
	})
	// Output:
	// # HELP ntp_optimizer_build_info Always 1: the version, commit and Go version of the ntp-optimizer that wrote this file.
	// # TYPE ntp_optimizer_build_info gauge
	// ntp_optimizer_build_info{commit="2545fdd0e3c1",goversion="go1.26.8",version="v1.2.0"} 1
	// # HELP ntp_optimizer_changes_total Runs that changed the NTP sources.
	// # TYPE ntp_optimizer_changes_total counter
	// ntp_optimizer_changes_total 3
	// # HELP ntp_optimizer_last_run_outage 1 if nothing answered in the last run (this machine's network was down), else 0.
	// # TYPE ntp_optimizer_last_run_outage gauge
	// ntp_optimizer_last_run_outage 0
	// # HELP ntp_optimizer_last_run_rolled_back 1 if the last run's change failed verification and was rolled back, else 0.
	// # TYPE ntp_optimizer_last_run_rolled_back gauge
	// ntp_optimizer_last_run_rolled_back 0
	// # HELP ntp_optimizer_last_run_success 1 if the last run succeeded, else 0.
	// # TYPE ntp_optimizer_last_run_success gauge
	// ntp_optimizer_last_run_success 1
	// # HELP ntp_optimizer_min_set_size The configured selection.min_set_size: the set is never shrunk below it.
	// # TYPE ntp_optimizer_min_set_size gauge
	// ntp_optimizer_min_set_size 3
	// # HELP ntp_optimizer_outages_total Runs in which nothing answered (network outages); they change nothing.
	// # TYPE ntp_optimizer_outages_total counter
	// ntp_optimizer_outages_total 0
	// # HELP ntp_optimizer_rollbacks_total Runs whose change failed verification and was rolled back.
	// # TYPE ntp_optimizer_rollbacks_total counter
	// ntp_optimizer_rollbacks_total 0
	// # HELP ntp_optimizer_run_duration_seconds Duration of the last run.
	// # TYPE ntp_optimizer_run_duration_seconds gauge
	// ntp_optimizer_run_duration_seconds 41
	// # HELP ntp_optimizer_selected_nts_sources How many servers of the applied set are used with NTS.
	// # TYPE ntp_optimizer_selected_nts_sources gauge
	// ntp_optimizer_selected_nts_sources 1
	// # HELP ntp_optimizer_selected_sources How many servers the applied set has.
	// # TYPE ntp_optimizer_selected_sources gauge
	// ntp_optimizer_selected_sources 1
	// # HELP ntp_optimizer_server_delay_seconds Minimum round-trip delay to the server.
	// # TYPE ntp_optimizer_server_delay_seconds gauge
	// ntp_optimizer_server_delay_seconds{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 0.012
	// # HELP ntp_optimizer_server_jitter_seconds Jitter of the server's offset (RMS of successive differences).
	// # TYPE ntp_optimizer_server_jitter_seconds gauge
	// ntp_optimizer_server_jitter_seconds{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 0.0004
	// # HELP ntp_optimizer_server_nts 1 if the server is used with Network Time Security (NTS), else 0 (plain NTP).
	// # TYPE ntp_optimizer_server_nts gauge
	// ntp_optimizer_server_nts{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 1
	// # HELP ntp_optimizer_server_offset_seconds Offset of the server from this machine's system clock: server minus local (RFC 5905), the opposite sign of chrony_sources_last_sample_offset_seconds; from its lowest-delay sample or chronyd's estimate.
	// # TYPE ntp_optimizer_server_offset_seconds gauge
	// ntp_optimizer_server_offset_seconds{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 0.0012
	// # HELP ntp_optimizer_server_reach_ratio Share of queries the server answered, 0 to 1.
	// # TYPE ntp_optimizer_server_reach_ratio gauge
	// ntp_optimizer_server_reach_ratio{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 1
	// # HELP ntp_optimizer_server_score Weighted score of the server from 0 to 100 (jitter, reachability, stratum, latency).
	// # TYPE ntp_optimizer_server_score gauge
	// ntp_optimizer_server_score{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 94.5
	// # HELP ntp_optimizer_server_selected 1 if the server is in the applied set, else 0.
	// # TYPE ntp_optimizer_server_selected gauge
	// ntp_optimizer_server_selected{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 1
	// # HELP ntp_optimizer_server_stratum Stratum the server reported (0: unspecified or kiss-o'-death); left out when it did not answer.
	// # TYPE ntp_optimizer_server_stratum gauge
	// ntp_optimizer_server_stratum{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 2
	// # HELP ntp_optimizer_server_up 1 if the server answered at least one query in the last run, else 0.
	// # TYPE ntp_optimizer_server_up gauge
	// ntp_optimizer_server_up{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test"} 1
	// # HELP ntp_optimizer_server_verdict Always 1: the server's verdict (selected, standby, rejected) and the class of its failures (reason_class).
	// # TYPE ntp_optimizer_server_verdict gauge
	// ntp_optimizer_server_verdict{address="192.0.2.1",server="time.example.test",source_address="192.0.2.1",source_name="time.example.test",verdict="selected"} 1
	// # HELP ntp_optimizer_set_size The configured selection.set_size: how many servers the set should have.
	// # TYPE ntp_optimizer_set_size gauge
	// ntp_optimizer_set_size 4
}
