// Package agent is the apply pipeline and nothing else: one run goes
//
//	discover → measure → decide → apply → record
//
// Discover reads the daemon's sources and asks the Discoverer for the
// candidates. Measure probes, through the Prober, the addresses the daemon
// does not measure itself and that are not blacklisted, and scores all of
// them with package scoring (Evaluate). A candidate listed with nts that
// the daemon does not have is pre-flighted (NTSChecker: a key exchange
// chronyd would accept, then authenticated requests) instead of probed:
// its measurement is the authenticated one, and one that fails carries
// the reason as its AuthError, which scoring rejects it for, so it is
// never added. With testing.measure auto (or chronyd) and a backend that
// is an Auditioner (chronylive), a plain candidate's new address is
// auditioned inside the daemon instead of probed (audition.go): recorded
// in state.json's auditions first, added noselect, measured by chronyd's
// own iburst and scored as a probe's; the apply promotes the winners and
// the run deletes the rest, whatever happened; the next run deletes what a
// killed one left before anything else. A dry run never auditions.
// Decide turns the decision into the
// report and the plan: what to add and, under the converge policy, what
// to remove (pinned servers and reference clocks stay; add-only removes
// only what the agent added). Apply hands the plan to the Backend, which
// changes the daemon, verifies the result and rolls back itself. Record
// counts the run, notifies (Notifier), writes the metrics (MetricsWriter)
// and saves the state and the run's history in the Store.
//
// Every dependency is one of the small interfaces declared in agent.go;
// the package imports no backend: the live chronyd backend (chronylive)
// and the file backends (fallback) satisfy Backend with package daemon's
// types. Run changes none of the Agent's fields; what a run needs it
// passes on as arguments (prober.RunOptions) or reads from its Settings.
//
// The Store keeps state.json (hysteresis counters, blacklist, the sources
// the agent added, the notifier's throttle state, counters), the history
// of runs and the lock that lets one run at a time change anything. Every
// write is atomic; a file that does not parse is moved aside, never
// silently replaced.
package agent
