package srvname

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest name accepted. A DNS name has at most 253
// characters in text form (RFC 1035 section 2.3.4, without the trailing
// dot); chronyd's ADD_SOURCE name field is 256 bytes with a terminating NUL
// (candm.h REQ_NTP_Source), so every accepted name also fits there.
const MaxLen = 253

// maxLabel is the longest DNS label (RFC 1035 section 2.3.4).
const maxLabel = 63

// ErrInvalid is wrapped by every validation error, for errors.Is.
var ErrInvalid = errors.New("invalid server name")

// Error explains why a name was rejected.
type Error struct {
	Name   string // the name as given
	Reason string // what is wrong with it, for a person
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid server name %q: %s", e.Name, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *Error) Unwrap() error { return ErrInvalid }

// Validate returns nil if name is an IP literal (IPv4 or IPv6, no zone) or a
// valid DNS hostname (letters, digits and hyphens in dot-separated labels of
// 1 to 63 characters, no leading or trailing hyphen, an optional final dot).
// Whitespace, control characters, '#' and anything else that could change
// the meaning of a configuration line are rejected with a reason.
func Validate(name string) error {
	bad := func(format string, a ...any) error {
		return &Error{Name: name, Reason: fmt.Sprintf(format, a...)}
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxLen+1 || (len(name) == MaxLen+1 && !strings.HasSuffix(name, ".")) {
		return bad("longer than %d characters", MaxLen)
	}
	for i, r := range name {
		switch {
		case r == utf8.RuneError:
			return bad("not valid UTF-8 at byte %d", i)
		case unicode.IsControl(r):
			return bad("control character %U at byte %d", r, i)
		case unicode.IsSpace(r):
			return bad("whitespace at byte %d", i)
		case r == '#':
			return bad("'#' at byte %d (starts a comment in configuration files)", i)
		}
	}
	if strings.ContainsRune(name, ':') {
		addr, err := netip.ParseAddr(name)
		if err != nil || addr.Zone() != "" {
			return bad("not a valid IPv6 address")
		}
		return nil
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return nil
	}
	return validateHostname(name, bad)
}

func validateHostname(name string, bad func(string, ...any) error) error {
	host := strings.TrimSuffix(name, ".")
	labels := strings.Split(host, ".")
	numeric := true
	for _, l := range labels {
		if l == "" {
			return bad("empty label (two dots in a row, or a leading dot)")
		}
		if len(l) > maxLabel {
			return bad("label %q is longer than %d characters", l, maxLabel)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("label %q starts or ends with a hyphen", l)
		}
		for _, r := range l {
			switch {
			case r >= '0' && r <= '9':
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-':
				numeric = false
			default:
				return bad("character %q is not allowed in a hostname", r)
			}
		}
	}
	if numeric {
		return bad("not a valid IPv4 address")
	}
	return nil
}
