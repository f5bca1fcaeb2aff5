package chronylive

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestReadChronyConf(t *testing.T) {
	d := t.TempDir()
	conf := filepath.Join(d, "chrony.conf")
	write(t, conf, "# comment\n! also a comment\nconfdir "+d+"/conf.d "+d+"/conf2.d\n"+
		"pool 2.debian.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\n"+
		"SOURCEDIR "+d+"/sources.d\ninclude "+d+"/inc/*.conf\n")
	write(t, filepath.Join(d, "conf.d", "b.conf"), "sourcedir "+d+"/from-b\n")
	write(t, filepath.Join(d, "conf.d", "a.conf"), "sourcedir "+d+"/from-a\n")
	write(t, filepath.Join(d, "conf.d", "ignored.txt"), "sourcedir /nope\n")
	write(t, filepath.Join(d, "conf2.d", "a.conf"), "sourcedir /shadowed\n") // first dir wins
	write(t, filepath.Join(d, "conf2.d", "c.conf"), "sourcedir "+d+"/from-c\n")
	write(t, filepath.Join(d, "inc", "x.conf"), "sourcedir "+d+"/from-inc\n")

	c, err := ReadChronyConf(conf)
	require.NoError(t, err)
	require.Equal(t, []string{d + "/from-a", d + "/from-b", d + "/from-c",
		"/run/chrony-dhcp", d + "/sources.d", d + "/from-inc"}, c.SourceDirs)
	dir, err := c.PersistentSourceDir()
	require.NoError(t, err)
	require.Equal(t, d+"/from-a", dir)
}

func TestReadChronyConfDebianDefault(t *testing.T) {
	c, err := ReadChronyConf("../testdata/chrony/conf/debian12-chrony.conf")
	require.NoError(t, err)
	dir, err := c.PersistentSourceDir()
	require.NoError(t, err)
	require.Equal(t, "/etc/chrony/sources.d", dir, "skips /run/chrony-dhcp")
}

func TestReadChronyConfErrors(t *testing.T) {
	d := t.TempDir()
	_, err := ReadChronyConf(filepath.Join(d, "missing.conf"))
	require.ErrorContains(t, err, "--chrony-conf")

	loop := filepath.Join(d, "loop.conf")
	write(t, loop, "include "+loop+"\n")
	_, err = ReadChronyConf(loop)
	require.ErrorContains(t, err, "nested")

	only := filepath.Join(d, "only-dhcp.conf")
	write(t, only, "sourcedir /run/chrony-dhcp\n")
	c, err := ReadChronyConf(only)
	require.NoError(t, err)
	_, err = c.PersistentSourceDir()
	require.ErrorContains(t, err, "sourcedir /etc/chrony/sources.d")
}
