// Package srvname validates NTP server names before they are used anywhere:
// in a chronyd ADD_SOURCE request, a chrony *.sources file, an ntp.conf or a
// timesyncd drop-in. A name is accepted only if it is an IP literal or a
// syntactically valid DNS hostname, so nothing can be injected into a
// configuration file ("pool.ntp.org\nrestrict default") or a request.
//
// Every list a name can come from (config, --servers-file, a remote list,
// chronyd itself) goes through Validate; callers add where the name came
// from (file and line) to the error.
package srvname
