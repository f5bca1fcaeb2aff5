package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// ansible runs ansible-playbook on deploy/ansible/site.yml with an
// inventory putting localhost (connection local) in group, and the role
// writing under root instead of /. It returns the output and whether the
// run succeeded.
func ansible(t *testing.T, group, root string, extra ...string) (string, error) {
	t.Helper()
	bin := testtool.Need(t, "ansible-playbook", "ansible-core")
	tmp := t.TempDir()
	inv := filepath.Join(tmp, "inventory")
	require.NoError(t, os.WriteFile(inv, []byte("["+group+"]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"), 0o600))
	dir := filepath.Join(repoRoot(t), "deploy", "ansible")
	env := []string{
		"ANSIBLE_CONFIG=" + filepath.Join(dir, "ansible.cfg"),
		"ANSIBLE_HOME=" + filepath.Join(tmp, "home"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(tmp, "tmp"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
	}
	args := append([]string{"-i", inv, "site.yml",
		"-e", "ntp_optimizer_root=" + root,
		"-e", "ntp_optimizer_install_package=false",
		"-e", "ansible_become=false"}, extra...)
	return runErr(dir, env, 3*time.Minute, bin, args...)
}

var reRecap = regexp.MustCompile(`localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap returns the changed and failed counts of a run.
func recap(t *testing.T, out string) (changed, failed int) {
	t.Helper()
	m := reRecap.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	changed, _ = strconv.Atoi(m[2])
	failed, _ = strconv.Atoi(m[4])
	return changed, failed
}

func TestAnsibleSyntax(t *testing.T) {
	bin := testtool.Need(t, "ansible-playbook", "ansible-core")
	dir := filepath.Join(repoRoot(t), "deploy", "ansible")
	tmp := t.TempDir()
	out := run(t, dir, []string{"ANSIBLE_CONFIG=" + filepath.Join(dir, "ansible.cfg"), "ANSIBLE_HOME=" + tmp, "ANSIBLE_LOCAL_TEMP=" + tmp},
		time.Minute, bin, "--syntax-check", "-i", "inventory.ini", "site.yml")
	require.Contains(t, out, "playbook: site.yml")
}

func TestAnsibleRoleProduction(t *testing.T) {
	root := t.TempDir()
	host := `{"ntp_optimizer_host_config": {"keep": ["ntp1.example.com"], "selection": {"set_size": 5}}}`

	// Check mode reports the changes and writes nothing.
	out, err := ansible(t, "production", root, "--check", "-e", host)
	require.NoError(t, err, out)
	changed, _ := recap(t, out)
	require.Positive(t, changed)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, entries, "check mode wrote files")

	out, err = ansible(t, "production", root, "-e", host, "-e", "ntp_optimizer_smtp_password=hunter2")
	require.NoError(t, err, out)
	require.NotContains(t, out, "hunter2", "the password must not reach the output")

	conf := filepath.Join(root, "etc/ntp-optimizer/config.toml")
	fi, err := os.Stat(conf)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(conf)
	require.NoError(t, err)
	require.NotContains(t, string(b), "hunter2")
	var c struct {
		Keep      []string
		Selection struct {
			WeightJitter       float64 `toml:"weight_jitter"`
			WeightReachability float64 `toml:"weight_reachability"`
			WeightStratum      float64 `toml:"weight_stratum"`
			WeightLatency      float64 `toml:"weight_latency"`
			MinScore           float64 `toml:"min_score"`
			SetSize            int     `toml:"set_size"`
		}
		Testing struct {
			IntervalHours float64 `toml:"interval_hours"`
		}
		Geographic    map[string]bool
		Notifications struct {
			Email map[string]any
		}
	}
	require.NoError(t, tomlDecode(string(b), &c), string(b))
	require.Equal(t, []string{"ntp1.example.com"}, c.Keep, "host settings")
	require.Equal(t, 5, c.Selection.SetSize, "host settings merge into the group's section")
	require.Equal(t, 0.40, c.Selection.WeightJitter, "the production preset")
	require.Equal(t, 0.35, c.Selection.WeightReachability)
	require.Equal(t, 0.20, c.Selection.WeightStratum)
	require.Equal(t, 0.05, c.Selection.WeightLatency)
	require.Equal(t, 70.0, c.Selection.MinScore)
	require.Equal(t, 6.0, c.Testing.IntervalHours)
	require.True(t, c.Geographic["prefer_regional"], "settings for all hosts")
	require.Equal(t, "/etc/ntp-optimizer/smtp-password", c.Notifications.Email["password_file"])
	require.Equal(t, []any{"ops@example.com"}, c.Notifications.Email["to_addresses"])

	pw := filepath.Join(root, "etc/ntp-optimizer/smtp-password")
	fi, err = os.Stat(pw)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	dropIn, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/ntp-optimizer.timer.d/interval.conf"))
	require.NoError(t, err)
	require.Contains(t, string(dropIn), "\nOnUnitActiveSec=\nOnUnitActiveSec=21600s\nRandomizedDelaySec=3600s\n")

	// A second run changes nothing.
	out, err = ansible(t, "production", root, "-e", host, "-e", "ntp_optimizer_smtp_password=hunter2")
	require.NoError(t, err, out)
	changed, _ = recap(t, out)
	require.Zero(t, changed, "the role is not idempotent:\n%s", out)
}

func TestAnsibleRoleDevelopment(t *testing.T) {
	root := t.TempDir()
	out, err := ansible(t, "development", root)
	require.NoError(t, err, out)
	b, err := os.ReadFile(filepath.Join(root, "etc/ntp-optimizer/config.toml"))
	require.NoError(t, err)
	var c struct {
		Testing   map[string]any
		Logging   map[string]any
		Selection map[string]any
	}
	require.NoError(t, tomlDecode(string(b), &c), string(b))
	require.Equal(t, int64(2), c.Testing["samples_per_server"])
	require.Equal(t, int64(10), c.Testing["max_servers_to_test"])
	require.Equal(t, int64(1), c.Testing["interval_hours"])
	require.Equal(t, "debug", c.Logging["level"], "the group overrides the setting for all hosts")
	require.Empty(t, c.Selection, "production's preset does not leak into development")
	require.NoFileExists(t, filepath.Join(root, "etc/ntp-optimizer/smtp-password"))
	dropIn, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/ntp-optimizer.timer.d/interval.conf"))
	require.NoError(t, err)
	require.Contains(t, string(dropIn), "\nOnUnitActiveSec=3600s\nRandomizedDelaySec=900s\n")
}

func TestAnsibleRoleRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
	}{
		{name: "password in the configuration", extra: `{"ntp_optimizer_host_config": {"notifications": {"email": {"password": "x"}}}}`},
		{name: "interval too short", extra: `{"ntp_optimizer_interval_hours": 0.05}`},
		{name: "interval too long", extra: `{"ntp_optimizer_interval_hours": 200}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			out, err := ansible(t, "production", root, "-e", tc.extra)
			require.Error(t, err, out)
			_, failed := recap(t, out)
			require.Equal(t, 1, failed)
			require.Contains(t, out, "ntp_optimizer_interval_hours must be from")
			entries, _ := os.ReadDir(root)
			require.Empty(t, entries)
		})
	}
}
