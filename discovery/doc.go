// Package discovery finds the candidate NTP servers that ntp-optimizer
// measures: the servers the operator pinned (keep) or listed (config,
// --servers-file), the sources chronyd already has, NTP pool zones for the
// machine's region, an embedded catalog of well-known public servers (or a
// remote list that replaces it), and the global pool as the last resort.
//
// The region comes from the system timezone: TZ, the /etc/localtime link and
// /etc/timezone, looked up in tzdata's zone tables (zone.tab, zone1970.tab,
// with tzdata.zi's links for old names) to get a country, and from the
// country to one of the pool's continent zones through a table built from
// tzdata's areas plus documented exceptions (continents.go). Pool zones are
// offered country first, then continent, then global, as the pool asks
// (https://www.pool.ntp.org/en/use.html): a country zone may hold only one
// or two servers.
//
// Every name, from any list, passes internal/srvname before it becomes a
// Candidate, and errors carry where the name came from (file and line), so
// nothing can be injected into a chronyd request or a configuration file.
//
// Discover is deterministic: the same inputs give the same candidates in the
// same order. The order is the priority under the max_servers_to_test cap:
// keep > user lists > chronyd's current sources > regional pool > catalog >
// global pool (catalog before regional pool when prefer_regional is off).
package discovery
