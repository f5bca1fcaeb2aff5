package fallback

import (
	"errors"
	"fmt"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// Server is one selected NTP server, best first in the lists the backends
// take. Origin says where the name came from ("config.toml line 12",
// "catalog", "chronyd"), so an error about it can point there.
type Server struct {
	Name   string
	Origin string
	// NTS asks for Network Time Security: NTPsec's `nts` option (ntpd
	// only; timesyncd has no NTS).
	NTS bool
}

// ErrNoServers is returned by Plan when it is given an empty server list:
// the backends never write a configuration without a source.
var ErrNoServers = errors.New("no servers to apply")

// checkServers validates every name with srvname.Validate before it can
// reach a file, and rejects duplicates. The error names the server's
// origin.
func checkServers(servers []Server) error {
	if len(servers) == 0 {
		return ErrNoServers
	}
	seen := make(map[string]string, len(servers))
	for _, s := range servers {
		if err := srvname.Validate(s.Name); err != nil {
			return fmt.Errorf("server from %s: %w", originOf(s), err)
		}
		if prev, dup := seen[s.Name]; dup {
			return fmt.Errorf("server %q from %s is listed twice (also from %s)", s.Name, originOf(s), prev)
		}
		seen[s.Name] = originOf(s)
	}
	return nil
}

func originOf(s Server) string {
	if s.Origin == "" {
		return "an unnamed source"
	}
	return s.Origin
}

func serverNames(servers []Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Name
	}
	return out
}
