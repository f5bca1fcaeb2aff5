package chronylive

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/internal/confdir"
)

// DefaultChronyConf is Debian's and Ubuntu's chrony configuration file.
const DefaultChronyConf = "/etc/chrony/chrony.conf"

// maxIncludeDepth bounds include/confdir recursion (chronyd itself allows
// nesting; a loop must not hang us).
const maxIncludeDepth = 10

// ChronyConf is what the agent needs to know from chronyd's configuration.
type ChronyConf struct {
	Files      []string // every file read, in order
	SourceDirs []string // `sourcedir` directories, in order of appearance
	// Pools are the names of the `pool` directives, in chrony.conf, what
	// it includes and the sourcedirs' *.sources files.
	Pools []string
	// NTS are the names (or addresses) of the `server` and `peer` lines
	// with the `nts` option, in the same files: chronyd authenticates
	// those sources with Network Time Security.
	NTS []string
	// NTSOptions holds, by canonical name, the NTS options of those lines
	// besides nts (`ntsport N`, `certset N`, in their order): a source
	// written to the sources file or re-added keeps them.
	NTSOptions map[string]string
	// Trust is what chronyd verifies NTS-KE servers' certificates with
	// (ntstrustedcerts set 0, nosystemcert, nocerttimecheck), from
	// chrony.conf and what it includes (not the sourcedirs, where chronyd
	// takes only source directives).
	Trust NTSTrust

	inSourceDir bool // reading a sourcedir's *.sources file
}

// ntsOptions returns the NTS options among a server line's options (after
// the name): `ntsport N` and `certset N`, as "ntsport N certset M".
func ntsOptions(opts []string) string {
	var out []string
	for i := 0; i+1 < len(opts); i++ {
		if o := strings.ToLower(opts[i]); o == "ntsport" || o == "certset" {
			out = append(out, o, opts[i+1])
			i++
		}
	}
	return strings.Join(out, " ")
}

// HasNTS says whether a `server` line for name (a hostname or an IP
// literal, as chronyd reports the source's name) has `nts`.
func (c *ChronyConf) HasNTS(name string) bool {
	return hasName(c.NTS, name)
}

// hasName says whether names holds name: hostnames compared without case
// or a final dot, IP literals in their canonical form.
func hasName(names []string, name string) bool {
	want := canonicalName(name)
	for _, n := range names {
		if canonicalName(n) == want {
			return true
		}
	}
	return false
}

func canonicalName(name string) string {
	if a, err := netip.ParseAddr(name); err == nil {
		return a.Unmap().String()
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// ReadChronyConf reads chronyd's configuration file path and everything it
// pulls in with `include` (glob patterns) and `confdir` (the *.conf files of
// each directory, in lexicographic order, the first directory winning on a
// name clash — chrony.conf(5)), collecting the `sourcedir` directives,
// and reading the pools and the `nts` servers there and in the
// sourcedirs' *.sources files.
func ReadChronyConf(path string) (*ChronyConf, error) {
	c := &ChronyConf{}
	if err := c.read(path, 0); err != nil {
		return nil, err
	}
	c.inSourceDir = true
	for _, f := range confdir.Files(c.SourceDirs, ".sources", nil) {
		// A sourcedir file that cannot be read is chronyd's problem to
		// report; it only means its pools are not known here.
		_ = c.read(f, maxIncludeDepth)
	}
	return c, nil
}

func (c *ChronyConf) read(path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested more than %d deep (a loop?)", path, maxIncludeDepth)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && depth == 0 {
			return fmt.Errorf("chronyd's configuration %s is not there (use --chrony-conf): %w", path, err)
		}
		return fmt.Errorf("read chronyd configuration: %w", err)
	}
	defer f.Close()
	c.Files = append(c.Files, path)
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.ContainsAny(fields[0][:1], "#!;%") {
			continue
		}
		directive := strings.ToLower(fields[0])
		if !c.inSourceDir && c.Trust.parse(directive, fields[1:]) {
			continue
		}
		switch directive {
		case "pool":
			if len(fields) > 1 {
				c.Pools = append(c.Pools, fields[1])
			}
		case "server", "peer":
			if len(fields) > 1 && slices.ContainsFunc(fields[2:], func(o string) bool { return strings.EqualFold(o, "nts") }) {
				c.NTS = append(c.NTS, fields[1])
				if o := ntsOptions(fields[2:]); o != "" {
					if c.NTSOptions == nil {
						c.NTSOptions = map[string]string{}
					}
					c.NTSOptions[canonicalName(fields[1])] = o
				}
			}
		case "sourcedir":
			c.SourceDirs = append(c.SourceDirs, fields[1:]...)
		case "include":
			for _, pattern := range fields[1:] {
				matches, err := filepath.Glob(pattern)
				if err != nil {
					return fmt.Errorf("%s:%d: include %q: %w", path, line, pattern, err)
				}
				for _, m := range matches {
					if err := c.read(m, depth+1); err != nil {
						return err
					}
				}
			}
		case "confdir":
			for _, m := range confdir.Files(fields[1:], ".conf", nil) {
				if err := c.read(m, depth+1); err != nil {
					return err
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// PersistentSourceDir picks the sourcedir the agent writes its sources file
// to: the first one that is not under /run or /var/run (those are for
// DHCP-provided servers and vanish at boot).
func (c *ChronyConf) PersistentSourceDir() (string, error) {
	for _, d := range c.SourceDirs {
		clean := filepath.Clean(d)
		if strings.HasPrefix(clean, "/run/") || strings.HasPrefix(clean, "/var/run/") {
			continue
		}
		return clean, nil
	}
	return "", fmt.Errorf("no persistent `sourcedir` in %s: add `sourcedir /etc/chrony/sources.d` "+
		"so the selected sources survive a chronyd restart", strings.Join(c.Files, ", "))
}
