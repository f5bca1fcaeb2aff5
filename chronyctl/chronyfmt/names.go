package chronyfmt

import (
	"context"
	"net"
	"strings"
	"sync"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// NameMode selects what the Name/IP column shows.
type NameMode int

// Name modes, as chronyc's options.
const (
	NamesDNS        NameMode = iota // default: reverse DNS, else the address
	NamesNumeric                    // -n: the address
	NamesConfigured                 // -N: the name the source was configured with
)

// Resolver does reverse lookups; *net.Resolver satisfies it.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Options control the sources table and the tracking report.
type Options struct {
	Names    NameMode
	Resolver Resolver // for NamesDNS; nil means net.DefaultResolver
	All      bool     // -a: include unresolved (ID#) sources
	Verbose  bool     // -v: print the legend
}

// maxNameLen is chronyc's name buffer (256 bytes with the NUL).
const maxNameLen = 255

// addrText is chronyc's UTI_IPToString.
func addrText(a chronyctl.Addr) string {
	if a.IsUnspecified() {
		return "[UNSPEC]"
	}
	return a.String()
}

// lookup is chronyc's DNS_IPAddress2Name: the first name getnameinfo
// finds, else the address text.
func lookup(ctx context.Context, r Resolver, a chronyctl.Addr) string {
	if a.IP.IsValid() {
		if names, err := r.LookupAddr(ctx, a.IP.String()); err == nil && len(names) > 0 && names[0] != "" {
			name := strings.TrimSuffix(names[0], ".")
			if len(name) > maxNameLen {
				name = name[:maxNameLen]
			}
			return name
		}
	}
	return addrText(a)
}

// configuredName is chronyc's -N column: the NTP_SOURCE_NAME reply if it
// was read and is printable (isgraph), else "?".
func configuredName(has bool, name string) string {
	if !has {
		return "?"
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] >= 0x7f {
			return "?"
		}
	}
	return name
}

// truncate shortens a DNS name longer than n to n-1 characters and '>',
// as chronyc's sources table does.
func truncate(name string, n int) string {
	if len(name) > n {
		return name[:n-1] + ">"
	}
	return name
}

// SourceNames returns chronyc's Name/IP column of each source (format_name,
// as the sources and authdata tables print it: reverse DNS cut to 25
// characters, -n the address, -N the configured name or "?", a refclock's
// refid), doing reverse lookups in parallel.
func SourceNames(ctx context.Context, srcs []chronyctl.Source, o Options) []string {
	r := o.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	names := make([]string, len(srcs))
	var wg sync.WaitGroup
	for i, s := range srcs {
		switch {
		case s.Mode == chronyctl.ModeRefclock && s.Address.IsUnspecified():
			names[i] = s.Name // the refid text
		case o.Names == NamesConfigured:
			names[i] = configuredName(s.Has.Name, s.Name)
		case o.Names == NamesNumeric:
			names[i] = addrText(s.Address)
		default:
			wg.Go(func() { names[i] = truncate(lookup(ctx, r, s.Address), 25) })
		}
	}
	wg.Wait()
	return names
}
