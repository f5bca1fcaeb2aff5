package deploy

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/config"
)

// TestMakeInstall runs scripts/install.sh (what "make install" calls) into a
// DESTDIR, twice: the second run must keep the configuration. The binary
// is built as is and with the urfave_cli_no_docs tag (no man page
// generator: the script then generates the page from the source).
func TestMakeInstall(t *testing.T) {
	for _, tags := range []string{"", "urfave_cli_no_docs"} {
		t.Run("tags="+tags, func(t *testing.T) { testMakeInstall(t, tags) })
	}
}

func testMakeInstall(t *testing.T, tags string) {
	root := repoRoot(t)
	bin := t.TempDir()
	run(t, root, []string{"CGO_ENABLED=0"}, 5*time.Minute, "go", "build", "-tags", tags, "-o", filepath.Join(bin, "ntp-optimizer"), "./cmd/ntp-optimizer")
	dest := t.TempDir()
	env := []string{"DESTDIR=" + dest, "BIN=" + bin, "SBINDIR=/usr/local/sbin"}
	out := run(t, root, env, time.Minute, "scripts/install.sh")
	require.Contains(t, out, "installed /usr/local/sbin/ntp-optimizer")

	p := func(rel string) string { return filepath.Join(dest, rel) }
	for path, mode := range map[string]os.FileMode{
		"usr/local/sbin/ntp-optimizer":             0o755,
		"etc/systemd/system/ntp-optimizer.service": 0o644,
		"etc/systemd/system/ntp-optimizer.timer":   0o644,
		"usr/share/man/man8/ntp-optimizer.8.gz":    0o644,
		"etc/ntp-optimizer/config.toml":            0o600,
	} {
		fi, err := os.Stat(p(path))
		require.NoError(t, err, path)
		require.Equal(t, mode, fi.Mode().Perm(), path)
	}
	svc, err := os.ReadFile(p("etc/systemd/system/ntp-optimizer.service"))
	require.NoError(t, err)
	require.Contains(t, string(svc), "\nExecStart=/usr/local/sbin/ntp-optimizer apply --no-schedule\n", "ExecStart follows SBINDIR")

	f, err := os.Open(p("usr/share/man/man8/ntp-optimizer.8.gz"))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	page, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(page), "\n.TH NTP-OPTIMIZER 8 ", "the man page, ntp-optimizer(8)")

	mine := "# mine\n"
	require.NoError(t, os.WriteFile(p("etc/ntp-optimizer/config.toml"), []byte(mine), 0o600))
	out = run(t, root, env, time.Minute, "scripts/install.sh")
	require.Contains(t, out, "keeping the existing")
	b, err := os.ReadFile(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, mine, string(b))
}

// TestConfigExample checks deploy/config.example.toml: as shipped (all
// commented) and with every "#key = value" line uncommented, it is valid
// TOML, and the uncommented file has the seed's sections.
func TestConfigExample(t *testing.T) {
	b, err := os.ReadFile("config.example.toml")
	require.NoError(t, err)
	var shipped map[string]any
	require.NoError(t, tomlDecode(string(b), &shipped))
	uncommented := uncommentKeys(string(b))
	var full map[string]any
	require.NoError(t, tomlDecode(uncommented, &full), uncommented)
	for _, section := range []string{"testing", "selection", "geographic", "notifications", "logging"} {
		require.Contains(t, full, section)
		require.NotEmpty(t, full[section], section)
	}
	email := full["notifications"].(map[string]any)["email"].(map[string]any)
	for _, k := range []string{"enabled", "smtp_server", "smtp_port", "from_address", "to_addresses", "username", "password", "send_on_change", "send_on_error", "tls", "password_file"} {
		require.Contains(t, email, k)
	}
	require.Equal(t, int64(6), full["testing"].(map[string]any)["interval_hours"])
	require.InDelta(t, 0.35, full["selection"].(map[string]any)["weight_jitter"], 1e-9)

	// The loader accepts the uncommented file (it refuses unknown keys) and
	// every key it knows is documented in the example.
	path := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(path, []byte(uncommented), 0o600))
	l, err := config.Load(path, true)
	require.NoError(t, err)
	for _, k := range config.Keys() {
		require.NotEqual(t, "default", l.Source(k.Path).Kind, "key %s is not in config.example.toml", k.Path)
	}
}
