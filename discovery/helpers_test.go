package discovery

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeRoot is a machine's filesystem root for region detection: the tzdata
// fixtures under /usr/share/zoneinfo, and whatever /etc a test adds.
type fakeRoot struct {
	t   *testing.T
	dir string
}

// newFakeRoot copies the zone table fixtures into a temp root. Pass
// withTables=false for a machine without tzdata.
func newFakeRoot(t *testing.T, withTables bool) *fakeRoot {
	t.Helper()
	r := &fakeRoot{t: t, dir: t.TempDir()}
	zi := filepath.Join(r.dir, zoneinfoDir)
	require.NoError(t, os.MkdirAll(zi, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(r.dir, "etc"), 0o755))
	if withTables {
		for _, name := range []string{"zone.tab", "zone1970.tab", "iso3166.tab", "tzdata.zi"} {
			data, err := os.ReadFile(filepath.Join(fixtureZoneinfo, name))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(zi, name), data, 0o644))
		}
	}
	return r
}

// symlink makes the host path p (under the root) a link to target.
func (r *fakeRoot) symlink(p, target string) {
	r.t.Helper()
	full := filepath.Join(r.dir, p)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(r.t, os.Symlink(target, full))
}

// file writes the host path p (under the root).
func (r *fakeRoot) file(p, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, p)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(r.t, os.WriteFile(full, []byte(content), 0o644))
}

// env returns a Getenv with only TZ set (when tz is not empty).
func env(tz string) func(string) string {
	return func(k string) string {
		if k == "TZ" {
			return tz
		}
		return ""
	}
}

func names(c []Candidate) []string {
	var out []string
	for _, x := range c {
		out = append(out, x.Name)
	}
	return out
}
