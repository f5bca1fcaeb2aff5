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

// parseList reads a server list: one entry per line (see parseEntry), blank
// lines and lines starting with '#' ignored, and a comment allowed after
// the entry when whitespace separates it ("ntp.example.org  # office").
// A '#' inside an entry ("a.example#x") is an error, not a comment, so a
// name is never silently cut short. source names the list in errors.
func parseList(r io.Reader, source string) ([]listEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var out []listEntry
	line := 0
	for sc.Scan() {
		line++
		text := strings.Trim(sc.Text(), " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			rest := strings.TrimLeft(text[i:], " \t")
			if rest[0] != '#' {
				return nil, &ListError{Source: source, Line: line,
					Err: fmt.Errorf("%w %q: one server per line; unexpected %q after it", ErrBadEntry, text[:i], rest)}
			}
			text = text[:i]
		}
		name, port, err := parseEntry(text)
		if err == nil {
			err = checkUnicast(text, name)
		}
		if err != nil {
			return nil, &ListError{Source: source, Line: line, Err: err}
		}
		out = append(out, listEntry{Name: name, Port: port, Line: line})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: line longer than 4096 bytes", ErrBadEntry)
		}
		return nil, &ListError{Source: source, Line: line + 1, Err: err}
	}
	return out, nil
}

// CheckServer checks one server entry (the configuration's servers and
// keep) as a line of a server list is checked: parseEntry, then
// checkUnicast.
func CheckServer(s string) error {
	name, _, err := parseEntry(s)
	if err == nil {
		err = checkUnicast(s, name)
	}
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
