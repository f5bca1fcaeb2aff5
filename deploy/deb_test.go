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
	require.ElementsMatch(t, []string{"/etc/ntp-optimizer/config.toml", "/etc/logrotate.d/ntp-optimizer"},
		strings.Fields(conffiles))
	require.Contains(t, info, "Maintainer: ntp-optimizer maintainers <maintainers@ntp-optimizer.org>")
	for _, want := range []string{"apply --dry-run", `then run "ntp-optimizer apply"`, "changes nothing until asked"} {
		require.Contains(t, info, want, "the description gives the flow")
	}
}

// TestDebScriptsDoNotEnable reads the maintainer scripts: installing
// changes nothing until the administrator asks, so no script enables or
// starts the timer (postinst restarts it on upgrade only through
// deb-systemd-invoke, which restarts an enabled unit only).
func TestDebScriptsDoNotEnable(t *testing.T) {
	deb := buildDebs(t)["1.0.0"]
	enables := regexp.MustCompile(`\benable\b|\bstart\b|--now|is-enabled|was-enabled`)
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		body := run(t, "", nil, time.Minute, "dpkg-deb", "-I", deb, script)
		for i, line := range strings.Split(body, "\n") {
			code, _, _ := strings.Cut(line, "#")
			require.NotRegexp(t, enables, code, "%s:%d: %s", script, i+1, line)
		}
	}
	postinst := run(t, "", nil, time.Minute, "dpkg-deb", "-I", deb, "postinst")
	require.Contains(t, postinst, `deb-systemd-invoke restart "$unit"`)
	require.Regexp(t, `if \[ -n "\$2" \] && command -v deb-systemd-invoke`, postinst, "restart on upgrade only")
}

func TestDebContents(t *testing.T) {
	deb := buildDebs(t)["1.0.0"]
	list := run(t, "", nil, time.Minute, "dpkg-deb", "-c", deb)
	for path, mode := range map[string]string{
		"./usr/sbin/ntp-optimizer":                                 "-rwxr-xr-x",
		"./lib/systemd/system/ntp-optimizer.service":               "-rw-r--r--",
		"./lib/systemd/system/ntp-optimizer.timer":                 "-rw-r--r--",
		"./etc/ntp-optimizer/config.toml":                          "-rw-------",
		"./etc/logrotate.d/ntp-optimizer":                          "-rw-r--r--",
		"./usr/share/man/man8/ntp-optimizer.8.gz":                  "-rw-r--r--",
		"./usr/share/doc/ntp-optimizer/config.example.toml":        "-rw-r--r--",
		"./var/lib/ntp-optimizer/":                                 "drwxr-xr-x",
		"./usr/share/doc/ntp-optimizer/copyright":                  "-rw-r--r--",
		"./usr/share/doc/ntp-optimizer/changelog.gz":               "-rw-r--r--",
		"./usr/share/doc/ntp-optimizer/CHANGELOG.md.gz":            "-rw-r--r--",
		"./usr/share/lintian/overrides/ntp-optimizer":              "-rw-r--r--",
		"./usr/share/bash-completion/completions/ntp-optimizer":    "-rw-r--r--",
		"./usr/share/zsh/vendor-completions/_ntp-optimizer":        "-rw-r--r--",
		"./usr/share/fish/vendor_completions.d/ntp-optimizer.fish": "-rw-r--r--",
	} {
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(mode)+` root/root\s+\d+ \S+ \S+ `+regexp.QuoteMeta(path)+`$`, list, path)
	}
}

// TestDebInstallUpgradeRemove installs the package into a temporary root
// with dpkg --root; the maintainer scripts run outside a chroot
// (--force-script-chrootless) with DPKG_ROOT set, and then only touch that
// root. It checks the files, that installing does not enable the timer,
// that an upgrade keeps the administrator's configuration and enablement,
// and remove and purge: purge removes what ntp-optimizer created (the
// timer's link and drop-in, the state, its sources file in chronyd's
// sourcedirs, its timesyncd drop-in) and nothing else.
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
	write := func(rel, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(p(rel)), 0o755))
		require.NoError(t, os.WriteFile(p(rel), []byte(content), 0o644))
	}
	link := p("etc/systemd/system/timers.target.wants/ntp-optimizer.timer")

	dpkgRoot("-i", debs["1.0.0"])
	status := dpkgRoot("-s", "ntp-optimizer")
	require.Contains(t, status, "Status: install ok installed")
	require.Contains(t, status, "\n /etc/ntp-optimizer/config.toml ")
	require.Contains(t, status, "\n /etc/logrotate.d/ntp-optimizer ", "the logrotate snippet is a conffile")
	for _, f := range []string{"usr/sbin/ntp-optimizer", "lib/systemd/system/ntp-optimizer.service", "lib/systemd/system/ntp-optimizer.timer", "usr/share/man/man8/ntp-optimizer.8.gz"} {
		require.FileExists(t, p(f))
	}
	require.DirExists(t, p("var/lib/ntp-optimizer"))
	fi, err := os.Stat(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	_, err = os.Lstat(link)
	require.True(t, os.IsNotExist(err), "installing must not enable the timer")
	out := run(t, "", nil, time.Minute, p("usr/sbin/ntp-optimizer"), "version")
	require.Contains(t, out, "ntp-optimizer ")

	// What the first apply and "install --interval" would leave: the
	// timer enabled with an interval drop-in, the state, chronyd's sources
	// file (in a sourcedir chrony.conf names, besides the default one), a
	// timesyncd drop-in. Files of others stay.
	require.NoError(t, os.MkdirAll(filepath.Dir(link), 0o755))
	require.NoError(t, os.Symlink("/lib/systemd/system/ntp-optimizer.timer", link))
	write("etc/systemd/system/ntp-optimizer.timer.d/interval.conf", "[Timer]\nOnUnitActiveSec=\nOnUnitActiveSec=12h\n")
	write("var/lib/ntp-optimizer/state.json", "{}\n")
	write("etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\n  sourcedir /srv/chrony/sources # comment\n")
	ours := "# Written by ntp-optimizer: the NTP sources it selected for chronyd.\nserver 192.0.2.1 iburst\n"
	write("etc/chrony/sources.d/ntp-optimizer.sources", ours)
	write("srv/chrony/sources/ntp-optimizer.sources", ours)
	write("etc/chrony/sources.d/site.sources", "server ntp.example.org iburst\n")
	write("run/chrony-dhcp/ntp-optimizer.sources", "server 192.0.2.9\n")
	write("etc/systemd/timesyncd.conf.d/ntp-optimizer.conf", "# Managed by ntp-optimizer: the NTP servers it selected, best first.\n[Time]\nNTP=192.0.2.1\n")

	// The administrator edits the configuration; the upgrade keeps it, and
	// keeps the timer enabled.
	edited := "# edited by the administrator\n[testing]\ninterval_hours = 12\n"
	require.NoError(t, os.WriteFile(p("etc/ntp-optimizer/config.toml"), []byte(edited), 0o600))
	dpkgRoot("-i", debs["1.0.1"])
	require.Contains(t, dpkgRoot("-s", "ntp-optimizer"), "Version: 1.0.1")
	b, err := os.ReadFile(p("etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	require.Equal(t, edited, string(b))
	_, err = os.Lstat(link)
	require.NoError(t, err, "the upgrade keeps the timer enabled")

	// Remove keeps the configuration and what the program made; purge
	// removes them.
	dpkgRoot("-r", "ntp-optimizer")
	require.NoFileExists(t, p("usr/sbin/ntp-optimizer"))
	require.NoFileExists(t, p("lib/systemd/system/ntp-optimizer.timer"))
	require.FileExists(t, p("etc/ntp-optimizer/config.toml"))
	require.FileExists(t, p("etc/chrony/sources.d/ntp-optimizer.sources"))
	dpkgRoot("-P", "ntp-optimizer")
	require.NoFileExists(t, p("etc/ntp-optimizer/config.toml"))
	require.NoDirExists(t, p("var/lib/ntp-optimizer"))
	_, err = os.Lstat(link)
	require.True(t, os.IsNotExist(err), "purge removes the enablement symlink")
	require.NoDirExists(t, p("etc/systemd/system/ntp-optimizer.timer.d"))
	require.NoFileExists(t, p("etc/chrony/sources.d/ntp-optimizer.sources"))
	require.NoFileExists(t, p("srv/chrony/sources/ntp-optimizer.sources"))
	require.NoFileExists(t, p("etc/systemd/timesyncd.conf.d/ntp-optimizer.conf"))
	require.FileExists(t, p("etc/chrony/sources.d/site.sources"), "not ntp-optimizer's")
	require.FileExists(t, p("run/chrony-dhcp/ntp-optimizer.sources"), "not written by ntp-optimizer, and /run is for DHCP servers")
	require.FileExists(t, p("etc/chrony/chrony.conf"))

	// The host was not touched.
	_, err = os.Lstat(hostLink)
	require.Equal(t, os.IsNotExist(hostErr), os.IsNotExist(err), "the host's timers.target.wants changed")
}
