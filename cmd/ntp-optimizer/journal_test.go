package main

import (
	"bytes"
	byteorder "encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// fakeJournal is a unixgram socket standing in for journald's: it decodes
// each datagram of the native protocol into its fields (a field that
// occurs twice keeps its last value).
type fakeJournal struct {
	path string
	conn *net.UnixConn
}

func newFakeJournal(t *testing.T) *fakeJournal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "socket")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &fakeJournal{path: path, conn: conn}
}

// records reads the datagrams sent so far.
func (j *fakeJournal) records(t *testing.T) []map[string]string {
	t.Helper()
	var recs []map[string]string
	buf := make([]byte, 1<<20)
	for {
		require.NoError(t, j.conn.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
		n, err := j.conn.Read(buf)
		if err != nil {
			return recs
		}
		recs = append(recs, decodeNative(t, buf[:n]))
	}
}

// decodeNative decodes one datagram as journald does
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).
func decodeNative(t *testing.T, p []byte) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		require.GreaterOrEqual(t, nl, 0, "a field ends with a newline: %q", p)
		line := p[:nl]
		if name, value, ok := bytes.Cut(line, []byte("=")); ok {
			fields[string(name)] = string(value)
			p = p[nl+1:]
			continue
		}
		p = p[nl+1:]
		require.GreaterOrEqual(t, len(p), 8, "binary field %s has a length", line)
		n := byteorder.LittleEndian.Uint64(p)
		require.GreaterOrEqual(t, uint64(len(p)), 8+n+1)
		fields[string(line)] = string(p[8 : 8+n])
		require.Equal(t, byte('\n'), p[8+n])
		p = p[8+n+1:]
	}
	for name := range fields {
		require.Regexp(t, `^[A-Z][A-Z0-9_]{0,63}$`, name, "a field name journald accepts")
	}
	return fields
}

// journalStderr returns a file standing in for stderr and sets
// JOURNAL_STREAM to its device and inode, as systemd does for a service
// whose stderr is the journal.
func journalStderr(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	var st syscall.Stat_t
	require.NoError(t, syscall.Fstat(int(f.Fd()), &st))
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	return f
}

func readFile(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return string(b)
}

func TestOnJournal(t *testing.T) {
	f := journalStderr(t)
	require.True(t, onJournal(f, os.Getenv))
	other, err := os.CreateTemp(t.TempDir(), "other")
	require.NoError(t, err)
	defer other.Close()
	require.False(t, onJournal(other, os.Getenv), "stderr redirected elsewhere: not the journal")
	t.Setenv("JOURNAL_STREAM", "")
	require.False(t, onJournal(f, os.Getenv))
}

// TestJournalNative: under the journal (auto) or with --log-format
// journal, records go to journald's socket with their priority and
// fields; journald's absence sends them to the stream with "<N>".
func TestJournalNative(t *testing.T) {
	for _, format := range []string{"auto", "journal"} {
		t.Run(format, func(t *testing.T) {
			j := newFakeJournal(t)
			stderr := journalStderr(t)
			log, err := newLogger(logSetup{Out: logOutput{Stderr: stderr, JournalSocket: j.path}, Level: "debug",
				Format: format, Clock: clocktest.NewStepper(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))})
			require.NoError(t, err)
			log = log.With().Str("run_id", "r1").Logger()
			log.Error().Str("outcome", "rolled-back").Str("reason", "chronyd selected no source").
				Str("server", "time.example").Strs("selected", []string{"a", "b"}).Msg("run finished")
			log.Warn().Str("detail", "two\nlines").Msg("note")
			log.Info().Int("n", 3).Msg("plain")
			log.Debug().Msg("quiet")

			recs := j.records(t)
			require.Len(t, recs, 4)
			require.Equal(t, map[string]string{
				"MESSAGE":           `run finished run_id=r1 outcome=rolled-back reason="chronyd selected no source" server=time.example selected=["a","b"]`,
				"PRIORITY":          "3",
				"SYSLOG_IDENTIFIER": "ntp-optimizer",
				"RUN_ID":            "r1",
				"OUTCOME":           "rolled-back",
				"REASON":            "chronyd selected no source",
				"SERVER":            "time.example",
				"SELECTED":          `["a","b"]`,
			}, recs[0])
			require.Equal(t, "4", recs[1]["PRIORITY"])
			require.Equal(t, "two\nlines", recs[1]["DETAIL"], "a value with a newline, in the binary form")
			require.Equal(t, "6", recs[2]["PRIORITY"])
			require.Equal(t, "3", recs[2]["N"])
			require.Equal(t, "7", recs[3]["PRIORITY"])
			require.Empty(t, readFile(t, stderr), "nothing on the stream")
		})
	}

	t.Run("no journald", func(t *testing.T) {
		stderr := journalStderr(t)
		log, err := newLogger(logSetup{Out: logOutput{Stderr: stderr, JournalSocket: filepath.Join(t.TempDir(), "missing")},
			Level: "info", Format: "journal", Clock: clocktest.NewStepper(time.Unix(0, 0))})
		require.NoError(t, err)
		log.Error().Str("outcome", "failed").Msg("run finished")
		out := readFile(t, stderr)
		require.True(t, strings.HasPrefix(out, `<3>{"level":"error","outcome":"failed"`), out)
	})
}

// TestJournalPrefix: JSON or console lines on the journal's stream carry
// their priority as "<N>" (journald's SyslogLevelPrefix); elsewhere they
// do not.
func TestJournalPrefix(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		journal      bool
		want         []string
	}{
		{"json on the journal", "json", true, []string{`<3>{"level":"error","outcome":"failed"`, `<6>{"level":"info"`}},
		{"console on the journal", "console", true, []string{"<3>", "ERR run finished outcome=failed", "<6>"}},
		{"json elsewhere", "json", false, []string{`{"level":"error","outcome":"failed"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := journalStderr(t)
			if !tc.journal {
				t.Setenv("JOURNAL_STREAM", "")
			}
			log, err := newLogger(logSetup{Out: logOutput{Stderr: stderr, JournalSocket: "/nonexistent"}, Level: "info",
				Format: tc.format, Clock: clocktest.NewStepper(time.Unix(0, 0))})
			require.NoError(t, err)
			log.Error().Str("outcome", "failed").Msg("run finished")
			log.Info().Msg("next")
			lines := strings.Split(strings.TrimSuffix(readFile(t, stderr), "\n"), "\n")
			require.Len(t, lines, 2)
			for _, w := range tc.want {
				require.Contains(t, strings.Join(lines, "\n"), w)
			}
			if tc.journal {
				require.True(t, strings.HasPrefix(lines[0], "<3>"), lines[0])
				require.True(t, strings.HasPrefix(lines[1], "<6>"), lines[1])
			} else {
				require.NotContains(t, lines[0], "<")
			}
		})
	}
}

// TestExitCodeOnJournal: the error line of a failed command carries its
// priority on the journal's stream, and is not repeated when the command
// logged it already.
func TestExitCodeOnJournal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"failed", fmt.Errorf("chronyd is gone"), exitFailure, "<3>ntp-optimizer: chronyd is gone\n"},
		{"rolled back", withCode(exitRolledBack, fmt.Errorf("no source selected")), exitRolledBack, "<3>ntp-optimizer: no source selected\n"},
		{"no usable: a warning", withCode(exitNoUsable, fmt.Errorf("none")), exitNoUsable, "<4>ntp-optimizer: none\n"},
		{"logged already", logged(withCode(exitOutage, fmt.Errorf("nothing answered"))), exitOutage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := journalStderr(t)
			require.Equal(t, tc.code, exitCode(tc.err, f))
			require.Equal(t, tc.want, readFile(t, f))
		})
	}
	t.Run("not the journal", func(t *testing.T) {
		f := journalStderr(t)
		t.Setenv("JOURNAL_STREAM", "")
		require.Equal(t, exitOutage, exitCode(logged(withCode(exitOutage, fmt.Errorf("nothing answered"))), f))
		require.Equal(t, "ntp-optimizer: nothing answered\n", readFile(t, f), "on a terminal or a pipe it is said")
	})
}

func TestExitLevel(t *testing.T) {
	for code, want := range map[int]zerolog.Level{
		exitOK: zerolog.InfoLevel, exitFailure: zerolog.ErrorLevel, exitUsage: zerolog.ErrorLevel,
		exitRolledBack: zerolog.ErrorLevel, exitNoUsable: zerolog.WarnLevel, exitStateWarning: zerolog.WarnLevel,
		exitOutage: zerolog.ErrorLevel, exitNotPersisted: zerolog.ErrorLevel,
	} {
		require.Equal(t, want, exitLevel(code), "exit %d", code)
	}
}

// TestFailedApplyOnJournal: under the systemd unit (stderr the journal's
// stream, auto format) a failed apply (exit 1: chronyd's socket is
// mistyped) sends one error record to journald, with the reason, RUN_ID
// and OUTCOME, and does not repeat it on the stream.
func TestFailedApplyOnJournal(t *testing.T) {
	j := newFakeJournal(t)
	stderr := journalStderr(t)
	dir := t.TempDir()
	appMu.Lock()
	app := newApp()
	app.Metadata = map[string]any{logOutputKey: logOutput{Stderr: stderr, JournalSocket: j.path}}
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run([]string{"ntp-optimizer", "--config", "", "apply", "--backend", "chrony",
		"--chrony-socket", filepath.Join(dir, "chronyd.sockk"), "--no-discovery", "--server", "127.0.0.1",
		"--state-dir", filepath.Join(dir, "state"), "--lock-dir", filepath.Join(dir, "lock"), "--no-schedule"})
	appMu.Unlock()
	require.Equal(t, exitFailure, exitCode(err, stderr))

	var errs []map[string]string
	for _, r := range j.records(t) {
		require.Equal(t, "ntp-optimizer", r["SYSLOG_IDENTIFIER"])
		if r["PRIORITY"] <= "3" {
			errs = append(errs, r)
		}
	}
	require.Len(t, errs, 1, "one error record")
	rec := errs[0]
	require.Equal(t, "failed", rec["OUTCOME"])
	require.NotEmpty(t, rec["RUN_ID"])
	require.Contains(t, rec["REASON"], "chronyd.sockk does not exist")
	require.Contains(t, rec["MESSAGE"], "run finished")
	require.Contains(t, rec["MESSAGE"], "does not exist: is chronyd running?", "journalctl shows the reason")
	require.Empty(t, readFile(t, stderr), "said once, in the journal")
}
