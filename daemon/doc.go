// Package daemon holds what the agent and the NTP-daemon backends share,
// so that neither imports the other: a daemon's sources, the plan of a
// change, what a backend did, the policies and the sentinels both branch
// on. The agent declares the Backend interface it consumes (package agent);
// the live chronyd backend (package chronylive) and the ntpd and timesyncd
// backends (package fallback) satisfy it with these types.
package daemon
