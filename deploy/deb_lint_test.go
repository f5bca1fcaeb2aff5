package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// TestDebLintian runs lintian --pedantic (with experimental tags) on the
// package: no error, warning, info, pedantic or experimental tag, and the
// overridden tags are exactly those debian/lintian-overrides justifies.
// (--fail-on none: with --show-overrides lintian exits 2 for an overridden
// error; the tags are read from its output instead.)
func TestDebLintian(t *testing.T) {
	lintian := testtool.Need(t, "lintian", "lintian")
	deb := buildDebs(t)["1.0.0"]
	out := run(t, "", nil, 5*time.Minute, lintian, "--pedantic", "--display-experimental", "--show-overrides", "--tag-display-limit", "0", "--fail-on", "none", deb)
	var tags, overridden []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case regexp.MustCompile(`^[EWIPX]: `).MatchString(line):
			tags = append(tags, line)
		case strings.HasPrefix(line, "O: "):
			overridden = append(overridden, strings.TrimPrefix(line, "O: "))
		}
	}
	require.Empty(t, tags, "lintian:\n%s", out)

	b, err := os.ReadFile(filepath.Join("debian", "lintian-overrides"))
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	sort.Strings(want)
	sort.Strings(overridden)
	require.Equal(t, want, overridden, "every override is used, and justified in the file")
	for _, tag := range []string{"statically-linked-binary", "non-standard-file-perm"} {
		require.Contains(t, string(b), tag)
	}
}

// TestDebBinaryBuiltLikeMakeBuild compares the build settings Go recorded
// in the packaged binary with those of "make build": the same tags
// (urfave_cli_no_docs), flags and VCS stamp.
func TestDebBinaryBuiltLikeMakeBuild(t *testing.T) {
	testtool.Need(t, "make", "make")
	deb := buildDebs(t)["1.0.0"]
	x := t.TempDir()
	run(t, "", nil, time.Minute, "dpkg-deb", "-x", deb, x)
	bin := t.TempDir()
	run(t, repoRoot(t), []string{"CGO_ENABLED=0"}, 5*time.Minute, "make", "--no-print-directory", "build", "BIN="+bin)

	settings := func(path string) []string {
		var out []string
		for _, line := range strings.Split(run(t, "", nil, time.Minute, "go", "version", "-m", path), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "build" {
				out = append(out, strings.Join(f[1:], " "))
			}
		}
		return out
	}
	packaged := settings(filepath.Join(x, "usr/sbin/ntp-optimizer"))
	require.Equal(t, settings(filepath.Join(bin, "ntp-optimizer")), packaged)
	for _, want := range []string{"-tags=urfave_cli_no_docs", "-trimpath=true", "CGO_ENABLED=0", "vcs=git"} {
		require.Contains(t, packaged, want)
	}
	head := strings.TrimSpace(run(t, repoRoot(t), nil, time.Minute, "git", "rev-parse", "HEAD"))
	require.Contains(t, packaged, "vcs.revision="+head, "the VCS stamp (go version -m)")
	out := run(t, "", nil, time.Minute, filepath.Join(x, "usr/sbin/ntp-optimizer"), "version")
	require.Contains(t, out, "commit:      "+head)
	require.Regexp(t, `(?m)^commit date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, out)
	require.Contains(t, run(t, "", nil, time.Minute, "file", filepath.Join(x, "usr/sbin/ntp-optimizer")), "statically linked")
}

// TestDebCopyright keeps debian/copyright machine-readable (DEP-5) with
// LICENSE's text as its Expat license.
func TestDebCopyright(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("debian", "copyright"))
	require.NoError(t, err)
	c := string(b)
	require.True(t, strings.HasPrefix(c, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"))
	require.Contains(t, c, "\nFiles: *\nCopyright: 2026 The ntp-optimizer authors\nLicense: Expat\n")
	lic, err := os.ReadFile(filepath.Join(repoRoot(t), "LICENSE"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(lic), "MIT License\n\nCopyright (c) 2026 The ntp-optimizer authors\n\n"))
	body := strings.SplitN(string(lic), "\n\n", 3)[2]
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if line == "" {
			line = "."
		}
		want.WriteString(" " + line + "\n")
	}
	require.True(t, strings.HasSuffix(c, "License: Expat\n"+want.String()), "debian/copyright's license text is LICENSE's")
}
