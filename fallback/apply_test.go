package fallback

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// fakeServices is a meaning-level ServiceManager: it records restarts and
// fails the ones listed in fail (by call number, from 1).
type fakeServices struct {
	mu        sync.Mutex
	restarts  []string
	fail      map[int]error
	onRestart func(n int)
}

func (f *fakeServices) Restart(_ context.Context, unit string) error {
	f.mu.Lock()
	f.restarts = append(f.restarts, unit)
	n := len(f.restarts)
	hook := f.onRestart
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return f.fail[n]
}

func (f *fakeServices) ActiveState(context.Context, string) (string, error) { return "active", nil }

// fakePeers answers with the given peers, or err.
type fakePeers struct {
	peers []Peer
	err   error
	calls int
}

func (f *fakePeers) Peers(context.Context) ([]Peer, error) {
	f.calls++
	return f.peers, f.err
}

var reachable = []Peer{{AssocID: 1, Addr: "192.0.2.10", Reach: 0x3f, Reachable: true}}

func newTestNTPD(t *testing.T, root string, svc ServiceManager, peers PeerReader) *NTPD {
	t.Helper()
	n, err := NewNTPD(NTPDConfig{
		Root: root, Services: svc, Peers: peers,
		VerifyTimeout: 5 * time.Second, VerifyInterval: time.Second,
		Clock: clocktest.NewStepper(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		Log:   zerolog.New(zerolog.NewTestWriter(t)),
	})
	require.NoError(t, err)
	return n
}

// planApply plans the selection on root's Debian-layout ntp.conf and
// applies it with a fake service manager and reachable peers.
func planApply(t *testing.T, root string) (conf string, orig []byte, svc *fakeServices, n *NTPD, c *Change, res *Result, err error) {
	t.Helper()
	conf = filepath.Join(root, "/etc/ntpsec/ntp.conf")
	orig = readFile(t, conf)
	svc = &fakeServices{}
	n = newTestNTPD(t, root, svc, &fakePeers{peers: reachable})
	c, err = n.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	res, err = n.Apply(t.Context(), c)
	return conf, orig, svc, n, c, res, err
}

func TestNTPDApply(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	conf, orig, svc, n, c, res, err := planApply(t, root)
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.True(t, res.Restarted)
	require.True(t, res.Verified)
	require.False(t, res.RolledBack)
	require.Equal(t, []string{"ntpsec.service"}, svc.restarts)
	require.Equal(t, []string{conf + ".backup.20260301T120000"}, res.Backups)
	require.Equal(t, orig, readFile(t, res.Backups[0]))
	require.Equal(t, c.Files[0].New, readFile(t, conf))
	require.Equal(t, reachable, res.Peers)

	// The same decision again: nothing to do, no restart.
	again, err := n.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	require.True(t, again.Empty())
	res, err = n.Apply(t.Context(), again)
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Len(t, svc.restarts, 1)

	// Revert: byte-identical to the package's file.
	res, err = n.Revert(t.Context())
	require.NoError(t, err)
	require.True(t, res.Verified)
	require.Equal(t, orig, readFile(t, conf))
}

// TestNTPDRollback: a restart or verification failure restores the
// original file, restarts again on it and keeps the backup.
func TestNTPDRollback(t *testing.T) {
	tests := []struct {
		name     string
		fail     map[int]error
		peers    *fakePeers
		check    func(context.Context, string) error
		stage    string
		restarts int
	}{
		{name: "daemon fails to restart", fail: map[int]error{1: errors.New("job failed (see journalctl -u ntpsec.service)")},
			peers: &fakePeers{peers: reachable}, stage: "activate", restarts: 2},
		{name: "no reachable peer", peers: &fakePeers{peers: []Peer{{AssocID: 1, Addr: "192.0.2.10"}}}, stage: "verify", restarts: 2},
		{name: "ntpd does not answer mode 6", peers: &fakePeers{err: ErrNoControl}, stage: "verify", restarts: 2},
		{name: "daemon check rejects", peers: &fakePeers{peers: reachable}, stage: "validate", restarts: 1,
			check: func(context.Context, string) error { return errors.New("syntax error line 3") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := rootWith(t, "ntp-centos7.conf", "/etc/ntp.conf")
			conf := filepath.Join(root, "/etc/ntp.conf")
			orig := readFile(t, conf)
			svc := &fakeServices{fail: tc.fail}
			var restored []byte
			svc.onRestart = func(n int) {
				if n == 2 {
					restored = readFile(t, conf) // what ntpd restarts on
				}
			}
			n := newTestNTPD(t, root, svc, tc.peers)
			n.cfg.Check = tc.check
			c, err := n.Plan(selection, daemon.PolicyConverge)
			require.NoError(t, err)
			res, err := n.Apply(t.Context(), c)
			require.ErrorIs(t, err, daemon.ErrRolledBack)
			require.True(t, res.RolledBack)
			require.False(t, res.Verified)
			require.True(t, strings.HasPrefix(res.Reason, tc.stage+":"), res.Reason)
			require.Equal(t, orig, readFile(t, conf), "original restored")
			require.Len(t, svc.restarts, tc.restarts)
			if tc.restarts == 2 {
				require.Equal(t, orig, restored, "the second restart runs on the restored file")
			}
			require.Len(t, res.Backups, 1)
			require.Equal(t, orig, readFile(t, res.Backups[0]), "backup kept")
		})
	}
}

func TestNTPDConflict(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	conf := filepath.Join(root, "/etc/ntpsec/ntp.conf")
	svc := &fakeServices{}
	n := newTestNTPD(t, root, svc, &fakePeers{peers: reachable})
	c, err := n.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	edited := append(readFile(t, conf), []byte("server admin.example.org\n")...)
	writeFile(t, conf, edited)
	_, err = n.Apply(t.Context(), c)
	require.ErrorIs(t, err, ErrConflict)
	require.Equal(t, edited, readFile(t, conf))
	require.Empty(t, svc.restarts)
	backups, err := Backups(conf)
	require.NoError(t, err)
	require.Empty(t, backups)
}

func TestNoServiceManager(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	n := newTestNTPD(t, root, nil, &fakePeers{peers: reachable})
	c, err := n.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	_, err = n.Apply(t.Context(), c)
	require.ErrorIs(t, err, ErrNoSystemd)
}

// TestBackupsPruned: the newest KeepBackups backups are kept.
func TestBackupsPruned(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	conf := filepath.Join(root, "/etc/ntpsec/ntp.conf")
	n := newTestNTPD(t, root, &fakeServices{}, &fakePeers{peers: reachable})
	n.cfg.KeepBackups = 3
	clock := n.cfg.Clock.(*clocktest.Stepper)
	var contents [][]byte
	for i := range 6 {
		clock.Advance(time.Hour)
		contents = append(contents, readFile(t, conf))
		sel := selection[i%2 : i%2+2]
		c, err := n.Plan(sel, daemon.PolicyConverge)
		require.NoError(t, err)
		_, err = n.Apply(t.Context(), c)
		require.NoError(t, err)
	}
	backups, err := Backups(conf)
	require.NoError(t, err)
	require.Len(t, backups, 3)
	for i, b := range backups { // newest first
		require.Equal(t, contents[5-i], readFile(t, b))
	}
	require.Equal(t, conf+".backup.20260301T180000", backups[0])
}

// TestUnwritable: read-only file systems, immutable files and unwritable
// directories give a clear error; the file stays intact, nothing restarts.
func TestUnwritable(t *testing.T) {
	t.Run("read-only bind mount", func(t *testing.T) {
		root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
		dir := filepath.Join(root, "/etc/ntpsec")
		if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
			skipOrFail(t, "cannot make a read-only bind mount here (needs root and mount permission): %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		// Some kernels need a remount for ro to apply to a bind mount.
		_ = exec.Command("mount", "-o", "remount,bind,ro", dir).Run()
		checkUnwritable(t, root, "read-only")
	})
	t.Run("immutable file", func(t *testing.T) {
		root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
		dir := filepath.Join(root, "/etc/ntpsec")
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("chattr +i is not supported on this file system (%s): %v", strings.TrimSpace(string(out)), err)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
		checkUnwritable(t, root, "immutable")
	})
	t.Run("unwritable directory as non-root", func(t *testing.T) {
		if os.Getenv("FALLBACK_TEST_NONROOT_ROOT") != "" {
			t.Skip("this is the child process")
		}
		if os.Geteuid() != 0 {
			t.Skip("needs root to drop to another user with setpriv")
		}
		if _, err := exec.LookPath("setpriv"); err != nil {
			skipOrFail(t, "setpriv (util-linux) is missing")
		}
		root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
		require.NoError(t, os.Chmod(root, 0o755))
		require.NoError(t, os.Chmod(filepath.Dir(root), 0o755))
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", os.Args[0],
			"-test.run", "^TestUnwritableChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FALLBACK_TEST_NONROOT_ROOT="+root)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)
		require.Contains(t, string(out), "PASS")
		require.NotContains(t, string(out), "SKIP")
	})
}

// TestUnwritableChild runs as an unprivileged user in a subprocess of
// TestUnwritable.
func TestUnwritableChild(t *testing.T) {
	root := os.Getenv("FALLBACK_TEST_NONROOT_ROOT")
	if root == "" {
		t.Skip("run by TestUnwritable")
	}
	checkUnwritable(t, root, "permission denied")
}

func checkUnwritable(t *testing.T, root, reason string) {
	t.Helper()
	conf, orig, svc, _, _, res, err := planApply(t, root)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrRollbackFailed)
	require.Contains(t, err.Error(), reason)
	require.Contains(t, err.Error(), "/etc/ntpsec/ntp.conf")
	require.False(t, res.Changed)
	require.Equal(t, orig, readFile(t, conf))
	require.Empty(t, svc.restarts)
}

// skipOrFail skips a test that needs something this machine lacks, but
// fails it under CI=true, where everything must run.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
