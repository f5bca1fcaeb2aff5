package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// fakeTerminal renders what is written to it as a terminal shows it, for
// the sequences the progress line uses: CR returns to the start of the
// line, ESC [ K erases to its end, LF starts a new line; other text
// overwrites the line from the cursor on.
type fakeTerminal struct {
	lines []string
	col   int
}

func (ft *fakeTerminal) Write(p []byte) (int, error) {
	if len(ft.lines) == 0 {
		ft.lines = []string{""}
	}
	s := string(p)
	for len(s) > 0 {
		cur := &ft.lines[len(ft.lines)-1]
		switch {
		case s[0] == '\r':
			ft.col, s = 0, s[1:]
		case s[0] == '\n':
			ft.lines, ft.col, s = append(ft.lines, ""), 0, s[1:]
		case strings.HasPrefix(s, "\033[K"):
			*cur, s = (*cur)[:ft.col], s[3:]
		default:
			end := strings.IndexAny(s, "\r\n\033")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				end = 1 // a lone ESC: shown as it is
			}
			text := s[:end]
			line := *cur + strings.Repeat(" ", max(0, ft.col-len(*cur)))
			if ft.col+len(text) < len(line) {
				*cur = line[:ft.col] + text + line[ft.col+len(text):]
			} else {
				*cur = line[:ft.col] + text
			}
			ft.col += len(text)
			s = s[end:]
		}
	}
	return len(p), nil
}

// screen is what the terminal shows, without the empty last line.
func (ft *fakeTerminal) screen() []string {
	return strings.Split(strings.TrimSuffix(strings.Join(ft.lines, "\n"), "\n"), "\n")
}

// TestProgressLineCleared: a log line or the table printed while the
// progress line is drawn starts on a clean line, never glued to
// "probing ...".
func TestProgressLineCleared(t *testing.T) {
	// stderr, as the terminal gets it: the log and the progress line.
	stderr := journalStderr(t)
	t.Setenv("JOURNAL_STREAM", "")
	progress := &progressLine{w: stderr}
	log, err := newLogger(logSetup{Out: logOutput{Stderr: stderr}, Level: "info", Format: "json", Progress: progress,
		Clock: clocktest.NewStepper(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))})
	require.NoError(t, err)

	progress.Show(prober.Progress{Addresses: 2, AddressesDone: 0, SamplesSent: 3})
	progress.Show(prober.Progress{Addresses: 2, AddressesDone: 1, SamplesSent: 8, SamplesOK: 8})
	log.Warn().Msg("server slow")
	progress.Show(prober.Progress{Addresses: 2, AddressesDone: 2, SamplesSent: 16, SamplesOK: 12})
	progress.Clear()
	_, err = stderr.WriteString("SERVER  ADDRESS\n") // the table
	require.NoError(t, err)
	progress.Clear() // once more: nothing drawn, nothing written

	term := &fakeTerminal{}
	_, _ = term.Write([]byte(readFile(t, stderr)))
	require.Equal(t, []string{
		`{"level":"warn","time":"2026-12-01T12:00:00Z","message":"server slow"}`,
		"SERVER  ADDRESS",
	}, term.screen())

	// Without clearing, the table is glued to the line (the bug).
	glued := &fakeTerminal{}
	(&progressLine{w: glued}).Show(prober.Progress{Addresses: 1, AddressesDone: 1, SamplesSent: 8, SamplesOK: 8})
	_, _ = glued.Write([]byte("SERVER  ADDRESS\n"))
	require.Equal(t, []string{"probing 1/1 addresses: 8 requests sent, 8 answeredSERVER  ADDRESS"}, glued.screen())
}

// TestProgressOf: the progress line drawn on the log's stderr is the one
// the log clears; another writer gets its own.
func TestProgressOf(t *testing.T) {
	app := newApp()
	term := &fakeTerminal{}
	shared := &progressLine{w: term}
	app.Metadata = map[string]any{progressKey: shared}
	var got, other *progressLine
	app.Commands = nil
	app.Before = nil
	app.Action = func(c *cli.Context) error {
		got, other = progressOf(c, term), progressOf(c, &fakeTerminal{})
		return nil
	}
	require.NoError(t, app.Run([]string{"ntp-optimizer"}))
	require.Same(t, shared, got)
	require.NotSame(t, shared, other)
	var nilLine *progressLine
	nilLine.Clear() // no terminal: nothing to clear, no panic
}
