// Package sim is a deterministic simulated world for the soak: NTP
// servers with a known truth, the network between them and this machine
// (outages, a DNS outage, a firewall that drops only the agent's probes),
// DNS with rotating pool answers, a meaning-level chronyd (Chronyd: adds,
// deletes, polls and the reach register, pools that refill, selection with
// falsetickers, restarts and being down) and a prober (Prober) that
// measures the same servers the way the real prober would see them.
//
// Everything runs on one clocktest.Stepper: the agent's waits advance it,
// and chronyd polls whatever time has passed when it is next asked. The
// same seed gives the same run, on any machine and any date.
package sim
