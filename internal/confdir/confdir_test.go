package confdir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFiles(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"etc/b.conf", "etc/z.conf", "usr/a.conf", "usr/b.conf", "usr/c.txt"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, f), nil, 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "d.conf"), 0o755))
	host := func(d string) string { return filepath.Join(root, d) }
	require.Equal(t, []string{"/usr/a.conf", "/etc/b.conf", "/etc/z.conf"},
		Files([]string{"/etc", "/missing", "/usr"}, ".conf", host))
	require.Equal(t, []string{filepath.Join(root, "usr", "c.txt")}, Files([]string{filepath.Join(root, "usr")}, ".txt", nil))
}
