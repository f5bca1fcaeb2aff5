package chronyctl_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// TestDialMissingSocketHint: a socket path that does not exist says so. The
// hint about a directory open to others (chronyd then disables its command
// socket) is only given for chronyd's own socket directory, never for a
// mistyped --chrony-socket in /, a home or any other 0755 directory.
func TestDialMissingSocketHint(t *testing.T) {
	tmp := t.TempDir()
	mkdir := func(name string, mode os.FileMode) string {
		d := filepath.Join(tmp, name)
		require.NoError(t, os.Mkdir(d, mode))
		require.NoError(t, os.Chmod(d, mode)) // past the umask
		return d
	}
	open, private, chrony := mkdir("open", 0o755), mkdir("private", 0o750), mkdir("chrony", 0o755)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"mistyped in the root directory", "/chronyd.sockk",
			"chronyd's command socket /chronyd.sockk does not exist: is chronyd running?"},
		{"mistyped in an ordinary 0755 directory", filepath.Join(open, "chronyd.sock"),
			"chronyd's command socket " + filepath.Join(open, "chronyd.sock") + " does not exist: is chronyd running?"},
		{"missing in a private directory", filepath.Join(private, "chronyd.sock"),
			"chronyd's command socket " + filepath.Join(private, "chronyd.sock") + " does not exist: is chronyd running?"},
		{"mistyped directory", filepath.Join(tmp, "chrny", "chronyd.sock"),
			"chronyd's command socket " + filepath.Join(tmp, "chrny", "chronyd.sock") + " does not exist, nor does its directory " +
				filepath.Join(tmp, "chrny") + ": is the path right (chronyd's bindcmdaddress)?"},
		{"chronyd's directory open to others", filepath.Join(chrony, "chronyd.sock"),
			"chronyd's command socket " + filepath.Join(chrony, "chronyd.sock") + " does not exist, and its directory " + chrony +
				" has mode 0755: chronyd disables its command socket when the directory is open to others; make it 0750 or 0770, owned by chronyd's user, and restart chronyd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: tc.path})
			require.ErrorIs(t, err, fs.ErrNotExist)
			require.EqualError(t, err, tc.want)
		})
	}
}

// TestDialStoppedChronyd: the default socket's directory missing is a
// stopped chronyd (its unit removes /run/chrony), not a mistyped path.
func TestDialStoppedChronyd(t *testing.T) {
	sock := chronyctl.DefaultSockets[0]
	if _, err := os.Stat(filepath.Dir(sock)); err == nil {
		t.Skipf("%s exists on this machine", filepath.Dir(sock))
	}
	_, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: sock})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "is chronyd running? (its service removes the directory when it stops)")
}
