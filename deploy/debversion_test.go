package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// debVersion runs scripts/deb.sh --print-version in a copy of the script
// inside repo.
func debVersion(t *testing.T, repo string) string {
	t.Helper()
	return strings.TrimSpace(run(t, repo, []string{"DEB_VERSION="}, time.Minute, "sh", "scripts/deb.sh", "--print-version"))
}

// TestDebVersionsSort commits in a scratch repository and checks, with
// dpkg --compare-versions, that each commit's package version is greater
// than the one before: snapshots of one day whose hashes sort the other
// way, then a tag, commits after it, and uncommitted changes.
func TestDebVersionsSort(t *testing.T) {
	testtool.Need(t, "git", "git")
	dpkg := testtool.Need(t, "dpkg", "dpkg")
	repo := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "scripts"), 0o755))
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "deb.sh"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "scripts", "deb.sh"), script, 0o755))
	git := func(env []string, args ...string) string {
		env = append(env, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		return strings.TrimSpace(run(t, repo, env, time.Minute, "git", args...))
	}
	git(nil, "init", "-q")
	commit := func(date, msg string) string {
		env := []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
		git(env, "commit", "-q", "--allow-empty", "-m", msg)
		return git(nil, "rev-parse", "HEAD")
	}
	git(nil, "add", "scripts/deb.sh")

	// Two commits of one day, the later one with the smaller hash (the
	// message is varied until it is), as in issue 15.
	first := commit("2026-12-01T09:10:00Z", "first")
	var versions []string
	versions = append(versions, debVersion(t, repo))
	var second string
	for i := 0; ; i++ {
		require.Less(t, i, 64, "no smaller hash in 64 tries")
		second = commit("2026-12-01T13:15:42Z", "second "+string(rune('a'+i%26))+strings.Repeat("!", i/26))
		if second < first {
			break
		}
		git(nil, "reset", "-q", "--hard", first)
	}
	versions = append(versions, debVersion(t, repo))
	require.Regexp(t, `^0\.0\.0~git20261201\.091000\.[0-9a-f]{12}$`, versions[0])
	require.Regexp(t, `^0\.0\.0~git20261201\.131542\.[0-9a-f]{12}$`, versions[1])

	git(nil, "tag", "v1.0.0")
	versions = append(versions, debVersion(t, repo))
	require.Equal(t, "1.0.0", versions[2])
	for i, date := range []string{"2026-12-02T08:00:00Z", "2026-12-02T09:00:00Z"} {
		commit(date, "after the tag "+string(rune('0'+i)))
	}
	versions = append(versions, debVersion(t, repo))
	require.Regexp(t, `^1\.0\.0\+git2\.g[0-9a-f]+$`, versions[3])
	for i := 3; i <= 10; i++ {
		commit("2026-12-03T08:00:00Z", "more "+string(rune('0'+i)))
	}
	versions = append(versions, debVersion(t, repo))
	require.Regexp(t, `^1\.0\.0\+git10\.g[0-9a-f]+$`, versions[4], "10 sorts after 2 (numerically)")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "scripts", "deb.sh"), append(script, '\n'), 0o755))
	versions = append(versions, debVersion(t, repo))
	require.True(t, strings.HasSuffix(versions[5], ".dirty"), versions[5])

	for i := 1; i < len(versions); i++ {
		_, err := runErr("", nil, time.Minute, dpkg, "--compare-versions", versions[i-1], "lt", versions[i])
		require.NoError(t, err, "dpkg --compare-versions %s lt %s", versions[i-1], versions[i])
	}
	// And what it replaces: the hashes alone sort the two snapshots of one
	// day the wrong way.
	_, err = runErr("", nil, time.Minute, dpkg, "--compare-versions",
		"0.0.0~git20261201."+first[:7], "lt", "0.0.0~git20261201."+second[:7])
	require.Error(t, err)
}
