package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Keys of the cli.App metadata: the configured logger and the clock every
// command takes its time from.
const (
	loggerKey = "logger"
	clockKey  = "clock"
)

// newLogger returns a logger writing to w at the given level and format,
// and, when file is not nil, JSON lines to file as well. Lines are stamped
// with the clock's time (the log file's rotation reads it back).
func newLogger(w *os.File, file io.Writer, level, format string, clock clock.Clock) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	var out io.Writer
	switch format {
	case "json":
		out = w
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	case "auto", "":
		if isatty.IsTerminal(w.Fd()) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		} else {
			out = w
		}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want console, json or auto", format)
	}
	if file != nil {
		out = zerolog.MultiLevelWriter(out, file)
	}
	return zerolog.New(out).Level(lvl).Hook(stamp{clock}), nil
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
