package fallback

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeProc writes /proc/<pid>/cmdline files under root.
func fakeProc(t *testing.T, root string, cmdlines map[int]string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "proc", "self"), 0o755))
	writeFile(t, filepath.Join(root, "proc", "uptime"), []byte("1.0 1.0\n"))
	for pid, cmd := range cmdlines {
		writeFile(t, filepath.Join(root, "proc", strconv.Itoa(pid), "cmdline"), []byte(cmd))
	}
}

func TestDetectFromProc(t *testing.T) {
	tests := []struct {
		name    string
		procs   map[int]string
		daemon  string
		detail  string
		wantErr error
	}{
		{name: "ntpsec", procs: map[int]string{1: "/sbin/init\x00", 2: "", 812: "/usr/sbin/ntpd\x00-p\x00/run/ntpd.pid\x00-g\x00-N\x00-u\x00ntpsec:ntpsec\x00"},
			daemon: DaemonNTPD, detail: "pid 812 /usr/sbin/ntpd"},
		{name: "timesyncd", procs: map[int]string{1: "/sbin/init\x00", 400: "/lib/systemd/systemd-timesyncd\x00"},
			daemon: DaemonTimesyncd, detail: "pid 400 /lib/systemd/systemd-timesyncd"},
		{name: "ntpd wins over timesyncd", procs: map[int]string{400: "/lib/systemd/systemd-timesyncd\x00", 900: "ntpd\x00-n\x00"},
			daemon: DaemonNTPD, detail: "pid 900 ntpd"},
		{name: "not a daemon with a similar name", procs: map[int]string{1: "/sbin/init\x00", 5: "/usr/bin/ntpdate\x00", 6: "vim\x00/etc/ntp.conf\x00"},
			wantErr: ErrNoDaemon},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			fakeProc(t, root, tc.procs)
			d, err := Detector{Root: root}.Detect(t.Context())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, "install chrony")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.daemon, d.Daemon)
			require.Equal(t, ViaProc, d.Via)
			require.Equal(t, tc.detail, d.Detail)
		})
	}
}

func TestDetectFromSystemd(t *testing.T) {
	_, fake, sd := newFakeSystemd(t)
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "/run/systemd/system"), 0o755))
	// A process list that says otherwise: systemd's word wins where it runs.
	fakeProc(t, root, map[int]string{77: "/usr/sbin/ntpd\x00"})
	d := Detector{Root: root, Units: sd}

	_, err := d.Detect(t.Context())
	require.ErrorIs(t, err, ErrNoDaemon)
	require.ErrorContains(t, err, "ntpsec.service")

	fake.SetState("systemd-timesyncd.service", "active")
	got, err := d.Detect(t.Context())
	require.NoError(t, err)
	require.Equal(t, &Detection{Daemon: DaemonTimesyncd, Unit: "systemd-timesyncd.service", Via: ViaSystemd, Detail: "systemd-timesyncd.service is active"}, got)

	fake.SetState("ntp.service", "activating")
	got, err = d.Detect(t.Context())
	require.NoError(t, err)
	require.Equal(t, DaemonNTPD, got.Daemon)
	require.Equal(t, "ntp.service", got.Unit)
	require.Equal(t, "ntpd (detected from systemd unit state over D-Bus: ntp.service is activating)", got.String())

	// Without systemd running (no /run/systemd/system), /proc decides.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "/run/systemd")))
	got, err = d.Detect(t.Context())
	require.NoError(t, err)
	require.Equal(t, ViaProc, got.Via)
}

func TestDetectSystemdError(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "/run/systemd/system"), 0o755))
	_, err := Detector{Root: root, Units: failingUnits{}}.Detect(t.Context())
	require.ErrorContains(t, err, "detect the NTP daemon")
	require.NotErrorIs(t, err, ErrNoDaemon)
}

type failingUnits struct{}

func (failingUnits) Restart(context.Context, string) error { return nil }

func (failingUnits) ActiveState(context.Context, string) (string, error) {
	return "", errors.New("bus closed")
}
