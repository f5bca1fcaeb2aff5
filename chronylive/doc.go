// Package chronylive is the live chronyd backend: it changes chronyd's
// sources over the command socket, on top of chronyctl's requests, and
// satisfies the Backend interface package agent declares (with the types
// of package daemon), without importing agent.
//
// A change adds the new sources first (with the configured options,
// iburst by default) and waits until every one has answered before any old
// source is deleted, so chronyd never has fewer reachable sources than
// before; then chronyd must select a reachable source with a normal leap
// status, else every step is undone in reverse (Apply). The selected set is
// also written to ntp-optimizer.sources in chronyd's persistent sourcedir
// (found by reading chrony.conf and what it includes), so a restart of
// chronyd comes back with it and `reload sources` neither duplicates nor
// drops a source.
//
// Network Time Security: a server marked NTS is added, persisted and
// re-added with `nts`; one with a hostname goes to chronyd by that name,
// whose NTS-KE certificate check needs it, and is then found, written and
// deleted by name (byname.go). Sources marks the sources chronyd's
// authdata shows NTS, and those chrony.conf names with `nts`; Backend.Trust
// is chrony.conf's certificate trust, for a pre-flight of NTS candidates.
//
// Auditions (audition.go): Audition adds candidates as noselect iburst
// sources and measures them from sourcestats and ntpdata (a KoD ends one
// at once); Apply promotes a winner with selectopts -noselect and a
// reselect (chrony 4.4+) or deletes and re-adds it (4.3), under the same
// answer wait, verification and rollback as any addition; EndAudition
// deletes whatever is still noselect.
//
// The backend consumes chronyd through the small Client interface
// (*chronyctl.Client satisfies it), and times its waits on an injected
// clock, so every failure path (an add refused half-way, a delete that
// fails, chronyd dying, verification timing out, a rollback that fails) is
// tested without a daemon; the end-to-end tests run it against a real
// chronyd -x.
package chronylive
