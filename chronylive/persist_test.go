package chronylive

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// unwritable makes dir (which exists) unwritable to this process as how
// says: "read-only" (a read-only bind mount; mode 0500 when not root),
// "immutable" (chattr +i). It is undone when the test ends.
func unwritable(t *testing.T, dir, how string) {
	t.Helper()
	switch {
	case how == "immutable":
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("chattr +i is not supported here (%s): %v", strings.TrimSpace(string(out)), err)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
	case os.Geteuid() != 0:
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	default:
		if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
			t.Skipf("cannot make a read-only bind mount here: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		_ = exec.Command("mount", "-o", "remount,bind,ro", dir).Run()
	}
}

// TestApplyNotPersisted is issue 12, item 4: a sources file that could not
// be written was a warning, and the run a success (exit 0, every run).
// Now Apply reports daemon.ErrNotPersisted, keeps the live change (it is
// the right one: no rollback) and says what it changed; a run with nothing
// to change live fails the same way while the file is not what it should
// be, and stops failing once it can be written.
func TestApplyNotPersisted(t *testing.T) {
	for _, how := range []string{"read-only", "immutable", "under a file"} {
		t.Run(how, func(t *testing.T) {
			f := newFake(old1, old2)
			b := backend(t, f)
			dir := filepath.Dir(b.File.Path)
			var restore func()
			if how == "under a file" {
				file := filepath.Join(t.TempDir(), "not-a-dir")
				require.NoError(t, os.WriteFile(file, nil, 0o644))
				b.File.Path = filepath.Join(file, "sources.d", SourcesFileName)
			} else {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(b.File.Path, []byte("# an older set\nserver 192.0.2.1 iburst\n"), 0o644))
				unwritable(t, dir, map[string]string{"read-only": "read-only", "immutable": "immutable"}[how])
				restore = func() {
					_ = exec.Command("chattr", "-i", dir).Run()
					_ = exec.Command("umount", dir).Run()
					_ = os.Chmod(dir, 0o755)
				}
			}
			before, _ := os.ReadFile(b.File.Path)

			res, err := b.Apply(t.Context(), replace())
			require.ErrorIs(t, err, daemon.ErrNotPersisted)
			require.ErrorContains(t, err, "sources file not written")
			require.False(t, res.RolledBack, "the live change stays")
			require.Len(t, res.Added, 3, "what changed live")
			require.Len(t, res.Removed, 2)
			require.Equal(t, sorted(new1, new2, new3), f.set())
			after, _ := os.ReadFile(b.File.Path)
			require.Equal(t, string(before), string(after), "the file is as it was")

			// Nothing to change live: still not persisted.
			same := daemon.Plan{Selected: replace().Selected, Policy: daemon.PolicyConverge}
			res, err = b.Apply(t.Context(), same)
			require.ErrorIs(t, err, daemon.ErrNotPersisted)
			require.Empty(t, res.Added)

			if restore == nil {
				return
			}
			restore()
			_, err = b.Apply(t.Context(), same)
			require.NoError(t, err, "writable again")
			got, err := os.ReadFile(b.File.Path)
			require.NoError(t, err)
			require.Contains(t, string(got), "server "+new3+" iburst\n")
		})
	}
}

// TestApplyPersistedFileOnReadOnlyDir: a file that already says what the
// run selected needs no write, so a read-only sourcedir is no failure
// then.
func TestApplyPersistedFileOnReadOnlyDir(t *testing.T) {
	f := newFake(new1, new2, new3)
	b := backend(t, f)
	same := daemon.Plan{Selected: replace().Selected, Policy: daemon.PolicyConverge}
	_, err := b.Apply(t.Context(), same)
	require.NoError(t, err)
	unwritable(t, filepath.Dir(b.File.Path), "read-only")
	_, err = b.Apply(t.Context(), same)
	require.NoError(t, err)
}

// TestApplyWithoutSourcedirIsAWarning: chronyd's configuration has no
// persistent sourcedir at all, so no run could persist anything: that
// stays a warning on each run, not a failure.
func TestApplyWithoutSourcedirIsAWarning(t *testing.T) {
	f := newFake(old1, old2)
	b := backend(t, f)
	b.File, b.NoFile = nil, "no persistent `sourcedir` in /etc/chrony/chrony.conf"
	res, err := b.Apply(t.Context(), replace())
	require.NoError(t, err)
	require.Equal(t, []string{"the selected sources will not survive a chronyd restart: no persistent `sourcedir` in /etc/chrony/chrony.conf"},
		res.Warnings)
}

// TestRollbackFailedIsNotRolledBack is issue 12, item 10 in the backend:
// a rollback that fails is a *daemon.RollbackError — daemon.ErrRollbackFailed
// for the caller to tell apart from a clean rollback — with why the change
// was undone and what could not be.
func TestRollbackFailedIsNotRolledBack(t *testing.T) {
	f := newFake(old1, old2)
	f.noSelect = true
	f.failDelete[netip.MustParseAddr(new2)] = errRefused
	b := backend(t, f)
	_, err := b.Apply(t.Context(), replace())
	require.ErrorIs(t, err, daemon.ErrRollbackFailed)
	var re *daemon.RollbackError
	require.True(t, errors.As(err, &re))
	require.EqualError(t, re.Why, "verification failed after 1m0s: chronyd has not selected a reachable source")
	require.EqualError(t, re.Left, "removing 198.51.100.2: chronyd: failure")
	require.Equal(t, sorted(old1, old2, new2), f.set(), "what could not be undone is still there")

	// A clean rollback is not a failed one.
	f = newFake(old1, old2)
	f.noSelect = true
	res, err := backend(t, f).Apply(t.Context(), replace())
	require.NoError(t, err)
	require.True(t, res.RolledBack)
}
