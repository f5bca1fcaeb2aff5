package discovery

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults, from the seed's configuration (testing.max_servers_to_test,
// geographic.*) and the pool's usage rules.
const (
	// DefaultMaxCandidates is the seed's max_servers_to_test.
	DefaultMaxCandidates = 20
	// DefaultPoolNames is how many of a zone's numbered names (0 to 3) are
	// offered: all four the pool publishes.
	DefaultPoolNames = 4
	// DefaultRemoteMaxBytes caps the remote list: a list of a few hundred
	// names is a few kilobytes.
	DefaultRemoteMaxBytes = 256 << 10
	// DefaultRemoteTimeout bounds the remote list download when the
	// caller's context allows longer.
	DefaultRemoteTimeout = 10 * time.Second
)

// Limits checked by Validate.
const (
	// MaxCandidates is the most candidates one run may measure.
	MaxCandidates     = 1000
	maxRemoteMaxBytes = 16 << 20
	maxRemoteTimeout  = 5 * time.Minute
	maxPoolNames      = 4 // the pool publishes 0 to 3
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("invalid discovery configuration")

// Config says where candidates may come from. Keys are named after the
// configuration file's (in brackets).
type Config struct {
	// AutoDetect derives the region from the system timezone
	// [geographic.auto_detect].
	AutoDetect bool
	// PreferRegional ranks the country and continent pool zones before the
	// catalog [geographic.prefer_regional]; off, they come after it.
	PreferRegional bool
	// FallbackToGlobal adds the global pool zone after everything else, and
	// keeps catalog servers located on another continent
	// [geographic.fallback_to_global].
	FallbackToGlobal bool
	// Country overrides detection with an ISO 3166 alpha-2 code ("de")
	// [geographic.country]; empty: detect when AutoDetect is on.
	Country string
	// Servers are the operator's servers, "host", "host:port" or
	// "[ipv6]:port" [servers].
	Servers []string
	// ServersFiles are files with one server per line [servers_file,
	// --servers-file].
	ServersFiles []string
	// Keep are pinned servers: always candidates, never removed [keep].
	Keep []string
	// RemoteListURL is an https:// URL of a server list that replaces the
	// embedded catalog [remote_list_url]; empty: none.
	RemoteListURL string
	// RemoteMaxBytes caps the remote list's size.
	RemoteMaxBytes int64
	// RemoteTimeout bounds the remote list download.
	RemoteTimeout time.Duration
	// NoDiscovery restricts candidates to Keep, Servers, ServersFiles and
	// chronyd's current sources: no pool, no catalog, no remote list
	// [--no-discovery].
	NoDiscovery bool
	// MaxCandidates caps the number of candidate names
	// [testing.max_servers_to_test].
	MaxCandidates int
	// PoolNames is how many numbered names of each pool zone are offered,
	// 0 to 4; 0 offers no pool names.
	PoolNames int
}

// DefaultConfig returns the defaults: auto-detection, regional preference
// and global fallback on, 20 candidates, all four names per pool zone.
func DefaultConfig() Config {
	return Config{
		AutoDetect:       true,
		PreferRegional:   true,
		FallbackToGlobal: true,
		RemoteMaxBytes:   DefaultRemoteMaxBytes,
		RemoteTimeout:    DefaultRemoteTimeout,
		MaxCandidates:    DefaultMaxCandidates,
		PoolNames:        DefaultPoolNames,
	}
}

// Validate checks every key and names the first bad one with its allowed
// values.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if c.MaxCandidates < 1 || c.MaxCandidates > MaxCandidates {
		return bad("max_servers_to_test is %d; it must be from 1 to %d", c.MaxCandidates, MaxCandidates)
	}
	if c.PoolNames < 0 || c.PoolNames > maxPoolNames {
		return bad("pool names per zone is %d; it must be from 0 to %d", c.PoolNames, maxPoolNames)
	}
	if c.Country != "" {
		if _, ok := countryContinent[strings.ToUpper(c.Country)]; !ok {
			return bad("geographic.country %q is not an ISO 3166 alpha-2 country code (e.g. \"de\")", c.Country)
		}
	}
	for i, s := range c.Servers {
		if _, _, _, err := parseServer(s); err != nil {
			return bad("servers[%d]: %v", i, err)
		}
	}
	for i, s := range c.Keep {
		if _, _, _, err := parseServer(s); err != nil {
			return bad("keep[%d]: %v", i, err)
		}
	}
	if len(c.Keep) > c.MaxCandidates {
		return bad("keep has %d servers, more than max_servers_to_test (%d)", len(c.Keep), c.MaxCandidates)
	}
	for i, f := range c.ServersFiles {
		if f == "" {
			return bad("servers_file[%d] is empty", i)
		}
	}
	if c.RemoteListURL != "" {
		if err := validateRemoteURL(c.RemoteListURL); err != nil {
			return bad("remote_list_url: %v", err)
		}
	}
	if c.RemoteMaxBytes < 1 || c.RemoteMaxBytes > maxRemoteMaxBytes {
		return bad("remote list size cap is %d bytes; it must be from 1 to %d", c.RemoteMaxBytes, maxRemoteMaxBytes)
	}
	if c.RemoteTimeout <= 0 || c.RemoteTimeout > maxRemoteTimeout {
		return bad("remote list timeout is %v; it must be above 0 and at most %v", c.RemoteTimeout, maxRemoteTimeout)
	}
	return nil
}

// validateRemoteURL accepts only absolute https URLs with a host and no
// user information (credentials do not belong in a config file).
func validateRemoteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%q: only https:// URLs are allowed", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q: credentials in the URL are not allowed", u.Redacted())
	}
	return nil
}
