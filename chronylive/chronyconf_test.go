package chronylive

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
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

// TestReadChronyConfNTSTrust: the trust for sources without certset is
// set 0's ntstrustedcerts (with or without the set ID), nosystemcert and
// nocerttimecheck N > 0 (the last one wins), from chrony.conf and what it
// includes, not from sourcedirs.
func TestReadChronyConfNTSTrust(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		want       NTSTrust
	}{
		{name: "none", conf: "server nts.example.org nts\n"},
		{name: "sets", conf: "ntstrustedcerts /etc/chrony/a.crt\nntstrustedcerts 0 /etc/chrony/certs.d\n" +
			"ntstrustedcerts 1 /etc/chrony/other.crt\nNTSTRUSTEDCERTS 00 /etc/chrony/b.crt\nntstrustedcerts x /bad\n" +
			"ntstrustedcerts\n",
			want: NTSTrust{TrustedCerts: []string{"/etc/chrony/a.crt", "/etc/chrony/certs.d", "/etc/chrony/b.crt"}}},
		{name: "nosystemcert", conf: "nosystemcert\nntstrustedcerts /etc/chrony/a.crt\n",
			want: NTSTrust{TrustedCerts: []string{"/etc/chrony/a.crt"}, NoSystemCert: true}},
		{name: "nocerttimecheck", conf: "nocerttimecheck 1\n",
			want: NTSTrust{NoCertTimeCheck: true, NoCertTimeCheckUpdates: 1}},
		{name: "nocerttimecheck 0 is the default", conf: "nocerttimecheck 3\nnocerttimecheck 0\n"},
		{name: "last nocerttimecheck wins", conf: "nocerttimecheck 0\nnocerttimecheck 5\nnocerttimecheck -1\n",
			want: NTSTrust{NoCertTimeCheck: true, NoCertTimeCheckUpdates: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			conf := filepath.Join(d, "chrony.conf")
			write(t, conf, tc.conf)
			c, err := ReadChronyConf(conf)
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Trust)
		})
	}

	d := t.TempDir()
	conf := filepath.Join(d, "chrony.conf")
	write(t, conf, "include "+d+"/inc/*.conf\nsourcedir "+d+"/sources.d\n")
	write(t, filepath.Join(d, "inc", "nts.conf"), "ntstrustedcerts /etc/chrony/lab.crt\nnocerttimecheck 1\n")
	write(t, filepath.Join(d, "sources.d", "x.sources"), "server a.example.org nts\nntstrustedcerts /ignored.crt\nnosystemcert\n")
	c, err := ReadChronyConf(conf)
	require.NoError(t, err)
	require.Equal(t, NTSTrust{TrustedCerts: []string{"/etc/chrony/lab.crt"}, NoCertTimeCheck: true, NoCertTimeCheckUpdates: 1}, c.Trust)
	require.Equal(t, []string{"a.example.org"}, c.NTS)

	b := New(nil, Config{ChronyConf: conf}, zerolog.Nop())
	require.Equal(t, c.Trust, b.Trust, "the backend carries it for the pre-flight")
}
