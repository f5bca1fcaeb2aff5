package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

var (
	debOnce  sync.Once
	debDir   string
	debFiles map[string]string // version -> .deb path
	debErr   error
	debOut   string
)

// buildDebs builds the package twice, as versions 1.0.0 and 1.0.1, with
// scripts/deb.sh (nfpm v2.45.2 through "go run": the first build fetches
// and compiles it, later ones come from the Go build cache).
func buildDebs(t *testing.T) map[string]string {
	t.Helper()
	testtool.Need(t, "dpkg-deb", "dpkg")
	debOnce.Do(func() {
		debDir, debErr = os.MkdirTemp("", "ntpo-deb-test")
		if debErr != nil {
			return
		}
		debFiles = map[string]string{}
		for _, v := range []string{"1.0.0", "1.0.1"} {
			out := filepath.Join(debDir, v)
			var o string
			o, debErr = runErr(repoRoot(t), []string{"DEB_VERSION=" + v}, 8*time.Minute, "scripts/deb.sh", out)
			debOut += o
			if debErr != nil {
				return
			}
			m, _ := filepath.Glob(filepath.Join(out, "*.deb"))
			if len(m) != 1 {
				debErr = os.ErrNotExist
				return
			}
			debFiles[v] = m[0]
		}
	})
	if debErr != nil && strings.Contains(debOut, "proxy.golang.org") && os.Getenv("CI") != "true" {
		t.Skipf("nfpm could not be fetched from the Go module proxy:\n%s", debOut)
	}
	require.NoError(t, debErr, "scripts/deb.sh:\n%s", debOut)
	return debFiles
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debDir != "" {
		os.RemoveAll(debDir)
	}
	os.Exit(code)
}

func TestDebInfo(t *testing.T) {
	deb := buildDebs(t)["1.0.0"]
	info := run(t, "", nil, time.Minute, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: ntp-optimizer", "Version: 1.0.0", "Recommends: chrony", "Section: net"} {
		require.Contains(t, info, want)
	}
	require.Regexp(t, `(?m)^ Architecture: \S+$`, info)
	for _, script := range []string{"postinst", "prerm", "postrm", "conffiles"} {
		require.Regexp(t, `(?m)^\s+\d+ bytes,\s+\d+ lines\s+(\*\s+)?`+script+`\b`, info)
	}
	require.Regexp(t, `(?m)\*\s+postinst\s+#!/bin/sh`, info, "maintainer scripts must be executable")
	conffiles := run(t, "", nil, time.Minute, "dpkg-deb", "-I", deb, "conffiles")
	require.Equal(t, "/etc/ntp-optimizer/config.toml", strings.TrimSpace(conffiles))
	postinst := run(t, "", nil, time.Minute, "dpkg-deb", "-I", deb, "postinst")
	require.Contains(t, postinst, "deb-systemd-helper enable")
}

func TestDebContents(t *testing.T) {
	deb := buildDebs(t)["1.0.0"]
	list := run(t, "", nil, time.Minute, "dpkg-deb", "-c", deb)
	for path, mode := range map[string]string{
		"./usr/sbin/ntp-optimizer":                          "-rwxr-xr-x",
		"./lib/systemd/system/ntp-optimizer.service":        "-rw-r--r--",
		"./lib/systemd/system/ntp-optimizer.timer":          "-rw-r--r--",
		"./etc/ntp-optimizer/config.toml":                   "-rw-------",
		"./usr/share/man/man8/ntp-optimizer.8.gz":           "-rw-r--r--",
		"./usr/share/doc/ntp-optimizer/config.example.toml": "-rw-r--r--",
		"./var/lib/ntp-optimizer/":                          "drwxr-xr-x",
	} {
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(mode)+` root/root\s+\d+ \S+ \S+ `+regexp.QuoteMeta(path)+`$`, list, path)
	}
}

// TestDebInstallUpgradeRemove installs the package into a temporary root
// with dpkg --root; the maintainer scripts run outside a chroot
// (--force-script-chrootless) with DPKG_ROOT set, and then only touch that
// root. It checks the files, the timer's enablement, that an upgrade keeps
// the administrator's configuration, and remove and purge.
func TestDebInstallUpgradeRemove(t *testing.T) {
	needRoot(t)
	dpkg := testtool.Need(t, "dpkg", "dpkg")
	debs := buildDebs(t)
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, f), nil, 0o644))
	}
	hostLink := "/etc/systemd/system/timers.target.wants/ntp-optimizer.timer"
	_, hostErr := os.Lstat(hostLink)
	dpkgRoot := func(args ...string) string {
		return run(t, "", nil, 2*time.Minute, dpkg, append([]string{"--root=" + root, "--force-script-chrootless"}, args...)...)
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	link := p("etc/systemd/system/timers.target.wants/ntp-optimizer.timer")

	dpkgRoot("-i", debs["1.0.0"])
	status := dpkgRoot("-s", "ntp-optimizer")
	require.Contains(t, status, "Status: install ok installed")
	require.Contains(t, status, "Conffiles:\n /etc/ntp-optimizer/config.toml ")
	for _, f := range []string{"usr/sbin/ntp-optimizer", "lib/systemd/system/ntp-optimizer.service", "lib/systemd/system/ntp-optimizer.timer", "usr/share/man/man8/ntp-optimizer.8.gz"} {
		require.FileExists(t, p(f))
	}
	require.DirExists(t, p("var/lib/ntp-optimizer"))
	fi, err := os.Stat(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	target, err := os.Readlink(link)
	require.NoError(t, err, "postinst enables the timer")
	require.Equal(t, "/lib/systemd/system/ntp-optimizer.timer", target)
	out := run(t, "", nil, time.Minute, p("usr/sbin/ntp-optimizer"), "version")
	require.Contains(t, out, "ntp-optimizer ")

	// The administrator edits the configuration; the upgrade keeps it.
	edited := "# edited by the administrator\n[testing]\ninterval_hours = 12\n"
	require.NoError(t, os.WriteFile(p("etc/ntp-optimizer/config.toml"), []byte(edited), 0o600))
	dpkgRoot("-i", debs["1.0.1"])
	require.Contains(t, dpkgRoot("-s", "ntp-optimizer"), "Version: 1.0.1")
	b, err := os.ReadFile(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, edited, string(b))

	// Remove keeps the configuration; purge removes it, the state and the
	// timer's symlink.
	dpkgRoot("-r", "ntp-optimizer")
	require.NoFileExists(t, p("usr/sbin/ntp-optimizer"))
	require.NoFileExists(t, p("lib/systemd/system/ntp-optimizer.timer"))
	require.FileExists(t, p("etc/ntp-optimizer/config.toml"))
	dpkgRoot("-P", "ntp-optimizer")
	require.NoFileExists(t, p("etc/ntp-optimizer/config.toml"))
	require.NoDirExists(t, p("var/lib/ntp-optimizer"))
	_, err = os.Lstat(link)
	require.True(t, os.IsNotExist(err), "purge removes the enablement symlink")

	// The host was not touched.
	_, err = os.Lstat(hostLink)
	require.Equal(t, os.IsNotExist(hostErr), os.IsNotExist(err), "the host's timers.target.wants changed")
}
