package discovery

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// ErrBadEntry is wrapped by every error about a list entry that is not a
// server name with an optional port.
var ErrBadEntry = errors.New("bad server entry")

// AuthNTS is Candidate.Auth for a server to use with Network Time
// Security (RFC 8915): listed as "NAME nts", or configured with `nts` at
// the daemon.
const AuthNTS = "nts"

// parseServer parses one server as the lists and the configuration's
// servers and keep give it: an entry (see parseEntry), optionally followed
// by whitespace and the word `nts` ("time.cloudflare.com nts"). Anything
// else after the entry fails parseEntry (whitespace is no part of a name).
func parseServer(s string) (name string, port int, nts bool, err error) {
	entry, nts := cutNTS(s)
	name, port, err = parseEntry(entry)
	if err == nil {
		err = checkUnicast(entry, name)
	}
	if err != nil {
		return "", 0, false, err
	}
	return name, port, nts, nil
}

// cutNTS splits a trailing `nts` word (after spaces or tabs) off s.
func cutNTS(s string) (entry string, nts bool) {
	i := strings.LastIndexAny(s, " \t")
	if i < 0 || !strings.EqualFold(s[i+1:], AuthNTS) {
		return s, false
	}
	return strings.TrimRight(s[:i], " \t"), true
}

// parseEntry parses one list entry: a hostname or IP literal, optionally
// with a port as "host:port" or "[ipv6]:port". An IPv6 literal without
// brackets has no port. The name is validated with srvname.Validate and
// returned normalised (see normalizeName).
func parseEntry(s string) (name string, port int, err error) {
	host, portText, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		if !strings.Contains(s, "]:") {
			if !strings.HasSuffix(s, "]") {
				return "", 0, fmt.Errorf("%w %q: missing ']'", ErrBadEntry, s)
			}
			host = s[1 : len(s)-1]
			break
		}
		h, p, splitErr := net.SplitHostPort(s)
		if splitErr != nil {
			return "", 0, fmt.Errorf("%w %q: %w", ErrBadEntry, s, splitErr)
		}
		host, portText, hasPort = h, p, true
	case strings.Count(s, ":") == 1:
		host, portText, hasPort = strings.Cut(s, ":")
	}
	if err := srvname.Validate(host); err != nil {
		return "", 0, err
	}
	port = DefaultPort
	if hasPort {
		port, err = strconv.Atoi(portText)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("%w %q: port %q is not a number from 1 to 65535", ErrBadEntry, s, portText)
		}
	}
	if strings.HasPrefix(s, "[") && !strings.Contains(host, ":") {
		return "", 0, fmt.Errorf("%w %q: brackets are only for IPv6 addresses", ErrBadEntry, s)
	}
	return normalizeName(host), port, nil
}
