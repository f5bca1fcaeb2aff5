package discovery

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// maxListBytes caps a server list read from a file: a list of hostnames is a
// few kilobytes; anything near this is not a server list.
const maxListBytes = 1 << 20

// ListError is a bad entry in a server list, with where it was.
type ListError struct {
	Source string // file path or URL
	Line   int    // 1-based
	Err    error  // wraps srvname.ErrInvalid or ErrBadEntry
}

func (e *ListError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
}

// Unwrap returns the reason, for errors.Is(err, srvname.ErrInvalid).
func (e *ListError) Unwrap() error { return e.Err }

// listEntry is one server of a list and the line it came from.
type listEntry struct {
	Name string
	Port int
	Line int
}

// listedServer is a list entry and whether it was listed with `nts`.
type listedServer struct {
	listEntry
	NTS bool
}

// parseList is parseServers without the `nts` marks (the list tests and
// the fuzz target read lists through it).
func parseList(r io.Reader, source string) ([]listEntry, error) {
	servers, err := parseServers(r, source)
	if err != nil {
		return nil, err
	}
	var out []listEntry
	for _, s := range servers {
		out = append(out, s.listEntry)
	}
	return out, nil
}

// parseServers reads a server list: one server per line (see parseServer: an
// entry, optionally followed by `nts`), blank lines and lines starting
// with '#' ignored, and a comment allowed after the server when
// whitespace separates it ("ntp.example.org  # office").
// A '#' inside an entry ("a.example#x") is an error, not a comment, so a
// name is never silently cut short. source names the list in errors.
func parseServers(r io.Reader, source string) ([]listedServer, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var out []listedServer
	line := 0
	for sc.Scan() {
		line++
		text := strings.Trim(sc.Text(), " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		text, nts := cutNTS(cutComment(text))
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			return nil, &ListError{Source: source, Line: line,
				Err: fmt.Errorf("%w %q: one server per line, optionally followed by `nts`; unexpected %q after it",
					ErrBadEntry, text[:i], strings.TrimLeft(text[i:], " \t"))}
		}
		name, port, _, err := parseServer(text)
		if err != nil {
			return nil, &ListError{Source: source, Line: line, Err: err}
		}
		out = append(out, listedServer{listEntry{Name: name, Port: port, Line: line}, nts})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: line longer than 4096 bytes", ErrBadEntry)
		}
		return nil, &ListError{Source: source, Line: line + 1, Err: err}
	}
	return out, nil
}

// cutComment drops a comment after the server: a '#' that whitespace
// separates from what comes before it.
func cutComment(text string) string {
	for i := 1; i < len(text); i++ {
		if text[i] == '#' && (text[i-1] == ' ' || text[i-1] == '\t') {
			return strings.TrimRight(text[:i], " \t")
		}
	}
	return text
}

// CheckServer checks one server entry (the configuration's servers and
// keep) as a line of a server list is checked (parseServer): an entry,
// optionally followed by `nts`.
func CheckServer(s string) error {
	_, _, _, err := parseServer(s)
	return err
}

// checkUnicast rejects an entry whose name is an address no NTP server
// can have: the unspecified address (0.0.0.0, ::), the limited broadcast
// address and multicast addresses. Nothing answers from them, so they
// would only ever show as "not measured".
func checkUnicast(entry, name string) error {
	a, err := netip.ParseAddr(name)
	if err != nil {
		return nil // a host name
	}
	a = a.Unmap()
	why := ""
	switch {
	case a.IsUnspecified():
		why = "the unspecified address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		why = "the broadcast address"
	case a.IsMulticast():
		why = "a multicast address"
	default:
		return nil
	}
	return fmt.Errorf("%w %q: %s cannot be an NTP server", ErrBadEntry, entry, why)
}
