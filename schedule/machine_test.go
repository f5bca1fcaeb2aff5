package schedule

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrepareMachine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		files     []string
		wantRW    []string
		wantDirs  []string
		wantNotes int
	}{
		{name: "chrony only", files: []string{"/etc/chrony/chrony.conf"}},
		{name: "ntpsec", files: []string{"/etc/ntpsec/ntp.conf", "/etc/ntp.conf"}},
		{name: "classic ntpd", files: []string{"/etc/ntp.conf"}, wantRW: []string{"/etc"}, wantNotes: 1},
		{name: "timesyncd without drop-in directory", files: []string{"/lib/systemd/systemd-timesyncd"}, wantDirs: []string{"/etc/systemd/timesyncd.conf.d"}, wantNotes: 1},
		{name: "timesyncd in /usr/lib", files: []string{"/usr/lib/systemd/systemd-timesyncd"}, wantDirs: []string{"/etc/systemd/timesyncd.conf.d"}, wantNotes: 1},
		{name: "timesyncd with drop-in directory", files: []string{"/lib/systemd/systemd-timesyncd", "/etc/systemd/timesyncd.conf.d/x.conf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, f), nil, 0o644))
			}
			p, err := PrepareMachine(root)
			require.NoError(t, err)
			require.Equal(t, tc.wantRW, p.WritablePaths)
			require.Len(t, p.Notes, tc.wantNotes)
			for _, d := range tc.wantDirs {
				require.DirExists(t, filepath.Join(root, d))
			}
			if tc.wantDirs == nil && tc.name != "timesyncd with drop-in directory" {
				require.NoDirExists(t, filepath.Join(root, timesyncdDropDir), "created without timesyncd")
			}
		})
	}
}
