package fallback

import (
	"os"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/confdir"
)

// systemd-timesyncd's configuration files (timesyncd.conf(5)): the main
// file, then *.conf drop-ins from these directories, a name in an earlier
// directory hiding the same name in a later one, all read in name order.
var (
	timesyncdMain    = []string{"/etc/systemd/timesyncd.conf", "/usr/lib/systemd/timesyncd.conf"}
	timesyncdDropDir = []string{"/etc/systemd/timesyncd.conf.d", "/run/systemd/timesyncd.conf.d", "/usr/local/lib/systemd/timesyncd.conf.d", "/usr/lib/systemd/timesyncd.conf.d"}
)

// TimesyncdDropIn is the drop-in the agent owns.
const TimesyncdDropIn = "/etc/systemd/timesyncd.conf.d/ntp-optimizer.conf"

// timesyncdFiles returns the configuration files timesyncd reads, in the
// order it reads them.
func timesyncdFiles(root string) []string {
	var out []string
	for _, m := range timesyncdMain {
		if _, err := os.Stat(hostPath(root, m)); err == nil {
			out = append(out, m)
			break
		}
	}
	return append(out, confdir.Files(timesyncdDropDir, ".conf", func(d string) string { return hostPath(root, d) })...)
}

// parseNTPKey applies the NTP= assignments of one file's [Time] section to
// list, as timesyncd does: an empty assignment clears the list, any other
// appends its space-separated names.
func parseNTPKey(data []byte, list []string) []string {
	section := ""
	for _, l := range splitLines(data) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			section = t[1 : len(t)-1]
			continue
		}
		if section != "Time" {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) != "NTP" {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			list = nil
			continue
		}
		list = append(list, strings.Fields(v)...)
	}
	return list
}

// renderDropIn returns the drop-in for the selected servers. Under
// daemon.PolicyConverge it starts with an empty NTP= so only the selected servers
// are used; under daemon.PolicyAddOnly they are added after the configured ones.
func renderDropIn(names []string, policy daemon.Policy) []byte {
	var b strings.Builder
	b.WriteString("# Managed by ntp-optimizer: the NTP servers it selected, best first.\n")
	b.WriteString("# systemd-timesyncd uses one server at a time, trying them in this order.\n")
	b.WriteString("# Delete this file and restart systemd-timesyncd to undo.\n")
	b.WriteString("[Time]\n")
	if policy == daemon.PolicyConverge {
		b.WriteString("NTP=\n")
	}
	b.WriteString("NTP=" + strings.Join(names, " ") + "\n")
	return []byte(b.String())
}
