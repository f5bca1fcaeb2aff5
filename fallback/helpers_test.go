package fallback

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixtureDir is where the fixtures live (Go ignores testdata/).
const fixtureDir = "../testdata/fallback"

// confFixtures are the single-file ntp.conf fixtures.
var confFixtures = []string{
	"ntpsec-debian12.conf",
	"ntp-ubuntu1604.conf",
	"ntp-centos7.conf",
	"hard-crlf.conf",
	"hard-no-final-newline.conf",
	"hard-no-final-newline-no-servers.conf",
	"hard-pool-nopeer.conf",
	"hard-refclock-peer.conf",
	"hard-earlier-run.conf",
}

// selection is the decision the golden files are made for.
var selection = []Server{
	{Name: "time.cloudflare.com", Origin: "catalog"},
	{Name: "ptbtime1.ptb.de", Origin: "catalog"},
	{Name: "192.0.2.10", Origin: "config.toml line 7"},
	{Name: "2001:db8::123", Origin: "config.toml line 8"},
}

// rootWith makes a root directory holding the fixture as conf (for a
// directory fixture, its whole tree) and returns it.
func rootWith(t *testing.T, fixture, conf string) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(fixtureDir, fixture)
	fi, err := os.Stat(src)
	require.NoError(t, err)
	if fi.IsDir() {
		require.NoError(t, os.CopyFS(root, os.DirFS(src)))
		return root
	}
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	writeFile(t, filepath.Join(root, conf), b)
	return root
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

// snapshot returns every regular file under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	}))
	return out
}
