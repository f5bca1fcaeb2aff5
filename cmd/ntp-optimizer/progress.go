package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// clearLine returns the cursor to the start of the line and erases it
// (CR, then ANSI EL: erase to the end of the line).
const clearLine = "\r\033[K"

// progressLine is the self-overwriting progress line a probe draws on a
// terminal ("probing 1/3 addresses: ..."). Whatever else is written to
// the terminal while it is drawn — a log line, the table — first clears
// it (through Clearing), so nothing is glued to it; the next update draws
// it again below. One mutex orders the line and the writes.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

// Show draws the progress, replacing the line drawn before.
func (p *progressLine) Show(pr prober.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%sprobing %d/%d addresses: %d requests sent, %d answered",
		clearLine, pr.AddressesDone, pr.Addresses, pr.SamplesSent, pr.SamplesOK)
	p.drawn = true
}

// Clear erases the line if it is drawn (nothing on a nil line: no
// terminal).
func (p *progressLine) Clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.w, clearLine)
		p.drawn = false
	}
}

// Clearing returns w as a writer that clears the progress line before
// each write: for the log on stderr and the table on stdout, which on a
// terminal share the screen with it.
func (p *progressLine) Clearing(w io.Writer) io.Writer { return clearing{p, w} }

type clearing struct {
	p *progressLine
	w io.Writer
}

func (c clearing) Write(b []byte) (int, error) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.p.clear()
	return c.w.Write(b)
}

// progressOf returns the progress line to draw on f: the app's own when f
// is the stderr the log writes to (so log lines clear it), else a new one.
func progressOf(c *cli.Context, f io.Writer) *progressLine {
	if p, ok := c.App.Metadata[progressKey].(*progressLine); ok && p.w == f {
		return p
	}
	return &progressLine{w: f}
}
