package notify

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolvePassword(t *testing.T) {
	dir := t.TempDir()
	writeFile := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	pwFile := writeFile("pw", "file-secret\n", 0o600)
	openFile := writeFile("pw-open", "file-secret\n", 0o644)
	twoLines := writeFile("pw-two", "a\nb\n", 0o600)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == PasswordEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name     string
		cfg      EmailConfig
		mode     fs.FileMode
		env      string
		want     string
		wantFrom string
		errIs    error
		errHas   string
	}{
		{name: "config file 0600", cfg: EmailConfig{Username: "u", Password: "cfg-secret"}, mode: 0o600, want: "cfg-secret", wantFrom: "configuration file"},
		{name: "config file 0400", cfg: EmailConfig{Username: "u", Password: "cfg-secret"}, mode: 0o400, want: "cfg-secret", wantFrom: "configuration file"},
		{name: "config file 0644 refused", cfg: EmailConfig{Username: "u", Password: "cfg-secret"}, mode: 0o644, errIs: ErrPasswordExposed, errHas: "which is mode 0644: run 'chmod 600 /etc/ntp-optimizer/config.toml'"},
		{name: "config file 0640 refused even with env", cfg: EmailConfig{Username: "u", Password: "cfg-secret"}, mode: 0o640, env: "env-secret", errIs: ErrPasswordExposed},
		{name: "env wins over file", cfg: EmailConfig{Username: "u", PasswordFile: pwFile}, mode: 0o644, env: "env-secret", want: "env-secret", wantFrom: "environment variable " + PasswordEnv},
		{name: "password_file", cfg: EmailConfig{Username: "u", PasswordFile: pwFile}, mode: 0o644, want: "file-secret", wantFrom: "password_file " + pwFile},
		{name: "password_file readable by others", cfg: EmailConfig{Username: "u", PasswordFile: openFile}, mode: 0o644, errIs: ErrPasswordExposed, errHas: "mode 0644"},
		{name: "password_file with two lines", cfg: EmailConfig{Username: "u", PasswordFile: twoLines}, errHas: "alone on one line"},
		{name: "password_file missing", cfg: EmailConfig{Username: "u", PasswordFile: filepath.Join(dir, "nope")}, errHas: "no such file"},
		{name: "user without any password", cfg: EmailConfig{Username: "u"}, mode: 0o600, errHas: "no password"},
		{name: "no auth", cfg: EmailConfig{}, mode: 0o644, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw, from, err := tc.cfg.ResolvePassword(PasswordSource{ConfigFile: "/etc/ntp-optimizer/config.toml", ConfigMode: tc.mode, Getenv: env(tc.env)})
			if tc.errIs != nil || tc.errHas != "" {
				require.Error(t, err)
				if tc.errIs != nil {
					require.ErrorIs(t, err, tc.errIs)
				}
				require.Contains(t, err.Error(), tc.errHas)
				require.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, pw)
			require.Equal(t, tc.wantFrom, from)
		})
	}
}
