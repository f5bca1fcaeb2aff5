package deploy

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// TestMakeInstall runs "make install" into a DESTDIR with a PREFIX, twice
// (the second run must keep the configuration), checks the installed
// bash completion against the installed binary, then "make uninstall"
// (which keeps the configuration). The binary is built by make as is and
// without the urfave_cli_no_docs tag.
func TestMakeInstall(t *testing.T) {
	testtool.Need(t, "make", "make")
	for _, tags := range []string{"urfave_cli_no_docs", ""} {
		t.Run("tags="+tags, func(t *testing.T) { testMakeInstall(t, tags) })
	}
}

func testMakeInstall(t *testing.T, tags string) {
	root := repoRoot(t)
	bin := t.TempDir()
	dest := t.TempDir()
	args := []string{"--no-print-directory", "DESTDIR=" + dest, "PREFIX=/opt/ntpo", "BIN=" + bin, "BUILDTAGS=" + tags}
	make := func(target string) string {
		return run(t, root, []string{"CGO_ENABLED=0"}, 5*time.Minute, "make", append(args, target)...)
	}
	out := make("install")
	require.Contains(t, out, "installed /opt/ntpo/sbin/ntp-optimizer")
	require.Contains(t, out, "ntp-optimizer apply --dry-run")

	p := func(rel string) string { return filepath.Join(dest, rel) }
	installed := map[string]os.FileMode{
		"opt/ntpo/sbin/ntp-optimizer":                                 0o755,
		"opt/ntpo/lib/systemd/system/ntp-optimizer.service":           0o644,
		"opt/ntpo/lib/systemd/system/ntp-optimizer.timer":             0o644,
		"opt/ntpo/share/man/man8/ntp-optimizer.8.gz":                  0o644,
		"opt/ntpo/share/bash-completion/completions/ntp-optimizer":    0o644,
		"opt/ntpo/share/zsh/site-functions/_ntp-optimizer":            0o644,
		"opt/ntpo/share/fish/vendor_completions.d/ntp-optimizer.fish": 0o644,
	}
	for path, mode := range installed {
		fi, err := os.Stat(p(path))
		require.NoError(t, err, path)
		require.Equal(t, mode, fi.Mode().Perm(), path)
	}
	fi, err := os.Stat(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err, "the configuration is in /etc whatever the PREFIX")
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	svc, err := os.ReadFile(p("opt/ntpo/lib/systemd/system/ntp-optimizer.service"))
	require.NoError(t, err)
	require.Contains(t, string(svc), "\nExecStart=/opt/ntpo/sbin/ntp-optimizer apply --no-schedule\n", "ExecStart follows the PREFIX")

	f, err := os.Open(p("opt/ntpo/share/man/man8/ntp-optimizer.8.gz"))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	page, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Regexp(t, `(?im)^\.TH ntp-optimizer 8 `, string(page[:min(len(page), 1000)]))

	// The bash completion asks the installed binary.
	if bash, err := exec.LookPath("bash"); err == nil {
		for line, want := range map[string]string{
			"ntp-optimizer ap":            "apply",
			"ntp-optimizer apply --dry-r": "--dry-run",
			"ntp-optimizer bla":           "blacklist",
		} {
			words := strings.Fields(line)
			script := "source " + p("opt/ntpo/share/bash-completion/completions/ntp-optimizer") + "\n" +
				"COMP_WORDS=(" + line + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "; _ntp_optimizer; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
			got := run(t, "", []string{"PATH=" + p("opt/ntpo/sbin") + ":" + os.Getenv("PATH")}, time.Minute, bash, "--norc", "-c", script)
			require.Contains(t, strings.Fields(got), want, "completing %q", line)
		}
	}

	mine := "# mine\n"
	require.NoError(t, os.WriteFile(p("etc/ntp-optimizer/config.toml"), []byte(mine), 0o600))
	out = make("install")
	require.Contains(t, out, "keeping the existing")
	b, err := os.ReadFile(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, mine, string(b))

	// An interval drop-in, as "ntp-optimizer install" writes it.
	dropIn := p("etc/systemd/system/ntp-optimizer.timer.d/interval.conf")
	require.NoError(t, os.MkdirAll(filepath.Dir(dropIn), 0o755))
	require.NoError(t, os.WriteFile(dropIn, []byte("[Timer]\n"), 0o644))

	out = make("uninstall")
	require.Contains(t, out, "kept /etc/ntp-optimizer/config.toml")
	for path := range installed {
		require.NoFileExists(t, p(path))
	}
	require.NoDirExists(t, filepath.Dir(dropIn))
	b, err = os.ReadFile(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, mine, string(b), "uninstall keeps the configuration")
	out = make("uninstall")
	require.NotContains(t, out, "removed ", "a second uninstall has nothing to remove")
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
