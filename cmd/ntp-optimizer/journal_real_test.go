package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// realJournalScript starts a real systemd-journald in a private mount
// namespace (a tmpfs over /run, so the host's journal is not touched),
// runs a failing apply the way the systemd unit does — stderr the
// journal's stream, JOURNAL_STREAM naming it (systemd-cat makes the
// stream; systemd sets the variable for a service, so the script does) —
// once with the default format and once with --log-format json, and
// prints `journalctl -p err -o json`.
const realJournalScript = `set -eu
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal
"$JOURNALD" >/dev/null 2>&1 &
journald=$!
trap 'kill "$journald"' EXIT
for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
for format in auto json; do
	systemd-cat -t "stream-$format" sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"' sh \
		"$BIN" --config "" --log-format "$format" apply --backend chrony --chrony-socket "$DIR/chronyd.sockk" \
		--no-discovery --server 127.0.0.1 --state-dir "$DIR/state-$format" --lock-dir "$DIR/lock-$format" --no-schedule || true
done
sleep 1
journalctl -D /run/log/journal -p err -o json --no-pager
`

// TestRealJournald: under a real journald, a failed apply is one record
// at priority err (journalctl -p err) with the reason, OUTCOME and RUN_ID
// as journal fields — over the native protocol by default, or as a
// "<3>"-prefixed JSON line on the stream with --log-format json — and the
// error line is not repeated on the stream.
func TestRealJournald(t *testing.T) {
	journald := "/lib/systemd/systemd-journald"
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := os.Stat(journald); err != nil {
		missing = append(missing, journald)
	}
	for _, tool := range []string{"unshare", "systemd-cat", "journalctl", "stat"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("missing for the real journald test: %v (systemd, util-linux)", missing)
		}
		t.Skipf("missing for the real journald test: %v", missing)
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", realJournalScript)
	cmd.Env = append(os.Environ(), "JOURNALD="+journald, "BIN="+binary(t), "DIR="+dir)
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)

	byID := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if id, _ := rec["SYSLOG_IDENTIFIER"].(string); id == "ntp-optimizer" || strings.HasPrefix(id, "stream-") {
			byID[id] = append(byID[id], rec)
		}
	}
	reason := "chronyd's command socket " + filepath.Join(dir, "chronyd.sockk") + " does not exist: is chronyd running?"

	// auto: the native protocol, the record's fields are the journal's.
	require.Len(t, byID["ntp-optimizer"], 1, "one error record over the native protocol: %s", out)
	native := byID["ntp-optimizer"][0]
	require.Equal(t, "journal", native["_TRANSPORT"])
	require.Equal(t, "3", native["PRIORITY"])
	require.Equal(t, "failed", native["OUTCOME"])
	require.Equal(t, reason, native["REASON"])
	require.NotEmpty(t, native["RUN_ID"])
	require.Contains(t, native["MESSAGE"], "run finished")
	require.Contains(t, native["MESSAGE"], reason)
	require.Empty(t, byID["stream-auto"], "nothing at err on the stream: the error line is not repeated")

	// json: the stream, priority from the "<3>" prefix.
	require.Len(t, byID["stream-json"], 1, "%s", out)
	line := byID["stream-json"][0]
	require.Equal(t, "stdout", line["_TRANSPORT"])
	require.Equal(t, "3", line["PRIORITY"])
	msg, _ := line["MESSAGE"].(string)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(msg), &rec), msg)
	require.Equal(t, "error", rec["level"])
	require.Equal(t, "failed", rec["outcome"])
	require.Equal(t, reason, rec["reason"])
}
