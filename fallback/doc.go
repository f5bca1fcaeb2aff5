// Package fallback applies the selected NTP servers to machines that run
// ntpd/NTPsec or systemd-timesyncd instead of chronyd, by editing their
// configuration files safely.
//
// Each backend (NTPD, Timesyncd) has the same shape, so the agent can drive
// either:
//
//	cur, _ := b.Current(ctx)              // servers configured now
//	change, _ := b.Plan(servers, policy)  // new bytes + unified diff, nothing touched
//	fmt.Print(change.Diff())              // what --dry-run prints
//	res, err := b.Apply(ctx, change)      // backup → atomic write → validate →
//	                                      // restart/live apply → verify → rollback
//	res, err = b.Revert(ctx)              // remove every trace of the agent
//
// Server names are validated with internal/srvname before anything is
// written; an error names the server's origin. Files are written with
// github.com/google/renameio/v2 (temp file, fsync, rename) after a backup
// next to the file (name.backup.YYYYmmddTHHMMSS, UTC, the newest
// KeepBackups kept). A failure after the first write restores every file,
// restarts the daemon on it and returns daemon.ErrRolledBack; the backups stay.
//
// ntp.conf: the selected servers go into a block between
// "# BEGIN ntp-optimizer" and "# END ntp-optimizer", before the first
// server/pool line. Under daemon.PolicyConverge the other server and pool lines
// (in included files too) are disabled by prefixing "#ntp-optimizer# ";
// reference clocks (127.127.t.u) and peer lines are never touched. Every
// plan starts from the file with the agent's edits stripped, so a revert
// gives back the original bytes (CRLF and a missing final newline
// included) and applying the same selection twice changes nothing. NTPsec
// 1.2 cannot check a configuration without starting (ntpd -n/-q/-c start
// the daemon, -q sets the clock), so the written files are validated by
// parsing them back; NTPDConfig.Check can plug in a daemon check. After the
// restart ntpd is checked over NTP mode 6 (github.com/facebook/time/ntp/control):
// it must answer and have reachable associations. A server listed with
// nts keeps it on NTPsec (a server line with nts, or /etc/ntpsec); classic
// ntpd has no NTS, so such a selection is refused with ErrNoNTS unless
// NTPDConfig.AllowPlain, as for timesyncd.
//
// systemd-timesyncd: the drop-in /etc/systemd/timesyncd.conf.d/ntp-optimizer.conf
// holds NTP= with the selected servers, best first (timesyncd uses one at
// a time, in order). Where timesyncd offers SetRuntimeNTPServers (systemd
// ≥ 251) the servers are applied live over D-Bus, else the unit is
// restarted; then ServerName and NTPMessage must show a reply from a
// selected server. timesyncd has no NTS: a selection with servers to use
// with NTS is refused (ErrNoNTS) unless TimesyncdConfig.AllowPlain
// (selection.authentication = off), which writes them as plain NTP with a
// warning.
//
// Detector finds which of the two daemons is active: from systemd's unit
// states over D-Bus where systemd runs, else from /proc. The agent checks
// chronyd before it.
package fallback
