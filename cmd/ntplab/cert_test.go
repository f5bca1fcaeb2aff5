package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runCert runs `ntplab cert ARGS` and returns its output and error.
func runCert(args ...string) (string, error) {
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"ntplab", "cert"}, args...))
	return out.String(), err
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk, path)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

func TestCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nts")
	out, err := runCert("--ip", "127.0.30.1", "--ip", "::1", "--dns", "nts.lab.test", "--dir", dir)
	require.NoError(t, err)
	crt, key := filepath.Join(dir, "nts.crt"), filepath.Join(dir, "nts.key")
	require.Equal(t, crt+"\n"+key+"\n", out)
	c := parseCertFile(t, crt)
	require.Equal(t, "nts.lab.test", c.Subject.CommonName)
	require.Equal(t, []string{"nts.lab.test"}, c.DNSNames)
	require.Len(t, c.IPAddresses, 2)
	require.True(t, c.IPAddresses[0].Equal(net.ParseIP("127.0.30.1")))
	require.NoError(t, c.VerifyHostname("127.0.30.1"))
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), c.NotAfter, time.Minute)
	fi, err := os.Stat(key)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	out, err = runCert("--ip", "127.0.30.2", "--dir", dir, "--name", "old", "--expired")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(out, "old.key\n"), out)
	old := parseCertFile(t, filepath.Join(dir, "old.crt"))
	require.True(t, old.NotAfter.Before(time.Now()), "expired")

	out, err = runCert("--ip", "127.0.30.3", "--dir", dir, "--name", "short", "--valid", "2h")
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), parseCertFile(t, strings.Fields(out)[0]).NotAfter, time.Minute)
}

func TestCertBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no names", []string{"--dir", dir}, "at least one IP address or DNS name"},
		{"bad ip", []string{"--ip", "127.0.0.300", "--dir", dir}, "--ip"},
		{"no dir", []string{"--ip", "127.0.0.1"}, `"dir" not set`},
		{"bad validity", []string{"--ip", "127.0.0.1", "--dir", dir, "--valid", "-1h"}, "positive duration"},
		{"argument", []string{"--ip", "127.0.0.1", "--dir", dir, "extra"}, "no arguments"},
		{"name with slash", []string{"--ip", "127.0.0.1", "--dir", dir, "--name", "a/b"}, "plain file name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCert(tc.args...)
			require.ErrorContains(t, err, tc.want)
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing written")
}
