package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Keys of the cli.App metadata: the configured logger, the clock every
// command takes its time from, the progress line the log clears, and
// (for tests) where the log goes.
const (
	loggerKey    = "logger"
	clockKey     = "clock"
	progressKey  = "progress"
	logOutputKey = "log-output"
)

// logOutput is where the log goes: the process's stderr (a terminal, the
// journal's stream or a pipe) and journald's socket. Tests replace both.
type logOutput struct {
	Stderr        *os.File
	JournalSocket string
}

// logOutputOf returns the app's log output: stderr and journald's socket
// unless a test set others.
func logOutputOf(c *cli.Context) logOutput {
	o, _ := c.App.Metadata[logOutputKey].(logOutput)
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.JournalSocket == "" {
		o.JournalSocket = journalSocket
	}
	return o
}

// setupLogger builds the logger of the configuration's [logging] and
// puts it, and the progress line it clears, in the app's metadata.
func setupLogger(c *cli.Context, cfg config.Logging) error {
	out := logOutputOf(c)
	var file io.Writer
	if cfg.File != "" {
		f, err := openLogFile(cfg.File)
		if err != nil {
			return err
		}
		file = f // closed when the process exits
	}
	progress := &progressLine{w: out.Stderr}
	log, err := newLogger(logSetup{Out: out, File: file, Level: cfg.Level, Format: cfg.Format, Clock: clockOf(c), Progress: progress})
	if err != nil {
		return usageError(err)
	}
	c.App.Metadata[loggerKey] = log
	c.App.Metadata[progressKey] = progress
	return nil
}

// logSetup describes the logger newLogger builds.
type logSetup struct {
	Out           logOutput
	File          io.Writer     // logging.file: JSON lines too; nil for none
	Level, Format string        // logging.level, logging.format
	Clock         clock.Clock   // stamps the lines
	Progress      *progressLine // cleared before each line on stderr; nil for none
}

// newLogger returns a logger writing to stderr at the given level and
// format, and, when File is not nil, JSON lines to File as well. Lines are
// stamped with the clock's time. The formats:
//
//   - console: for people (zerolog's console writer);
//   - json: one JSON object a line;
//   - journal: journald's native protocol, so the priority and every field
//     (RUN_ID, OUTCOME, SERVER, ...) are journal fields;
//   - auto: console on a terminal, journal when stderr is the journal's
//     stream (JOURNAL_STREAM, as under the systemd unit), json otherwise.
//
// console and json lines written to the journal's stream carry their
// priority as a "<N>" prefix, which journald reads (SyslogLevelPrefix=).
func newLogger(s logSetup) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(s.Level)
	if err != nil || s.Level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", s.Level)
	}
	var stderr io.Writer = s.Out.Stderr
	if s.Progress != nil {
		stderr = s.Progress.Clearing(stderr)
	}
	journal := onJournal(s.Out.Stderr, os.Getenv)
	format := s.Format
	if format == "auto" || format == "" {
		switch {
		case isatty.IsTerminal(s.Out.Stderr.Fd()):
			format = "console"
		case journal:
			format = "journal"
		default:
			format = "json"
		}
	}
	var out io.Writer
	switch format {
	case "json":
		out = stderr
		if journal {
			out = newSyslogPrefix(stderr, func(w io.Writer) io.Writer { return w })
		}
	case "console":
		out = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
		if journal {
			out = newSyslogPrefix(stderr, func(w io.Writer) io.Writer {
				return zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: true}
			})
		}
	case "journal":
		out = newJournalWriter(s.Out.JournalSocket, stderr)
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want console, json, journal or auto", s.Format)
	}
	if s.File != nil {
		out = zerolog.MultiLevelWriter(out, s.File)
	}
	return zerolog.New(out).Level(lvl).Hook(stamp{s.Clock}), nil
}

// stamp puts the clock's time on every log line, as zerolog's Timestamp
// does with the system clock.
type stamp struct{ clock clock.Clock }

func (s stamp) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Time(zerolog.TimestampFieldName, s.clock.Now())
}

// logger returns the logger set up before the command ran (a no-op logger
// if the app was run without it, as in some tests).
func logger(c *cli.Context) zerolog.Logger {
	if l, ok := c.App.Metadata[loggerKey].(zerolog.Logger); ok {
		return l
	}
	return zerolog.Nop()
}

// clockOf returns the app's clock: the real one unless a test set another.
func clockOf(c *cli.Context) clock.Clock {
	if cl, ok := c.App.Metadata[clockKey].(clock.Clock); ok {
		return cl
	}
	return clock.Real()
}
