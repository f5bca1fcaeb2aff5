package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write a self-contained HTML report: the set and verdicts, charts of offset, jitter and score, changes, blacklist",
		Description: "Writes one self-contained HTML file (inline CSS and SVG charts, no scripts, no\n" +
			"external assets: it opens offline and can be mailed or archived): the last\n" +
			"decision's set with each server's verdict and reason; each server's offset,\n" +
			"jitter and score over the stored runs as line charts (hover a point for its\n" +
			"value); a timeline of which servers were in the set; every change with its\n" +
			"reason; the blacklist entries with their evidence. Outage runs are marked on\n" +
			"the timeline and left out of the charts. The page goes to standard output\n" +
			"(not to a terminal, unless -o -) or to the file -o names (written atomically,\n" +
			"mode 0644). Only the state directory is read; the NTP daemon is not asked.",
		Flags: append(config.Flags("paths.state_dir"),
			&cli.StringFlag{Name: "since", Value: "30d", Usage: "how far back: a duration like 36h, 7d, or a number of days"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "-", Usage: "write the page to this file; - is standard output"},
		),
		Action: runReport,
	}
}

func runReport(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("report takes no arguments, got %q (write the page with -o FILE)", c.Args().Slice()))
	}
	since, err := parseSince(c.String("since"))
	if err != nil || since <= 0 {
		return usageError(fmt.Errorf("--since %q: want a duration like 36h, 7d, or a number of days", c.String("since")))
	}
	out := c.String("output")
	if out == "" {
		return usageError(errors.New("--output is empty: name a file, or - for standard output"))
	}
	// As gzip does: a megabyte of markup on a terminal helps no one,
	// unless asked for with -o -.
	if f, ok := c.App.Writer.(*os.File); ok && out == "-" && !c.IsSet("output") && isatty.IsTerminal(f.Fd()) {
		return usageError(errors.New("standard output is a terminal: write the page with -o report.html, or redirect it"))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	dir := l.Config.Paths.StateDir
	log := logger(c)
	st := &agent.Store{Dir: dir, Logger: log}
	now := clockOf(c).Now()
	runs, err := st.LoadHistory(now.Add(-since))
	if err != nil {
		return err
	}
	state, moved, err := st.PeekState()
	if err != nil {
		return err
	}
	for _, m := range moved {
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: warning: %s\n", m)
	}
	decision, err := readDecision(dir)
	if err != nil {
		log.Warn().Err(err).Msg("last decision not readable; using the latest stored run")
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: warning: %v: using the latest stored run\n", err)
	}
	if decision == nil && len(runs) > 0 {
		decision = &runs[len(runs)-1]
	}
	page := buildReport(reportInput{Now: now, Since: since, SinceText: c.String("since"), StateDir: dir,
		Runs: runs, Decision: decision, State: &state})
	var buf bytes.Buffer
	if err := renderReport(&buf, page); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if out == "-" {
		_, err := io.Copy(c.App.Writer, &buf)
		return err
	}
	// renameio writes a temporary file beside out: name the directory,
	// not that file, when it is missing.
	if _, err := os.Stat(filepath.Dir(out)); err != nil {
		return fmt.Errorf("write the report to %s: %w", out, err)
	}
	if err := renameio.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the report to %s: %w", out, err)
	}
	return nil
}

// parseSince reads --since: a duration as the configuration writes them
// ("36h", "7d") or a bare number of days. (config.ParseDuration with the
// unit a day refuses "36h", so a bare number is made "Nd" first.)
func parseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		s += "d"
	}
	return config.ParseDuration(s, time.Hour)
}

// decisionLimit bounds the decision document read: a real one is some
// hundred kilobytes with every sample.
const decisionLimit = 64 << 20

// readDecision reads the last run's decision document (last-decision.json,
// which agent.Store.SaveRun writes beside the history) as the other state
// files are read: never through a symbolic link, only a regular file. It
// returns nil, nil when there is none.
func readDecision(dir string) (*agent.Report, error) {
	p := filepath.Join(dir, "last-decision.json")
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, decisionLimit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var r agent.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s does not parse: %w", p, err)
	}
	return &r, nil
}
