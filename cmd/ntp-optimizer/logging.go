package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// loggerKey is the cli.App metadata key holding the configured logger.
const loggerKey = "logger"

// newLogger returns a logger writing to w at the given level and format,
// and, when file is not nil, JSON lines to file as well.
func newLogger(w *os.File, file io.Writer, level, format string) (zerolog.Logger, error) {
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
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// logger returns the logger set up before the command ran (a no-op logger
// if the app was run without it, as in some tests).
func logger(c *cli.Context) zerolog.Logger {
	if l, ok := c.App.Metadata[loggerKey].(zerolog.Logger); ok {
		return l
	}
	return zerolog.Nop()
}
