package main

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromium finds Debian's chromium (scripts/test-deps.sh installs it): a
// missing one skips the test, or fails it with CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing (scripts/test-deps.sh installs it)")
	}
	t.Skip("chromium is missing: apt-get install chromium")
	return ""
}

// headless runs chromium --headless on the page with the extra arguments
// and returns its standard output. --no-sandbox: the sandbox refuses to
// run as root, and in containers without user namespaces; the page is the
// test's own.
func headless(t *testing.T, bin, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profile := t.TempDir()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %v:\n%s", bin, args, stderr.String())
	return out
}

// limitedBuffer keeps the last few kilobytes of chromium's chatter.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// TestReportChromium renders the report in a real browser: the DOM after
// load has the charts' series and points (the parser put every element
// where the page meant it), and the screenshot is not blank: each series'
// colour covers more of it than its legend and swatch could.
func TestReportChromium(t *testing.T) {
	bin := chromium(t)
	dir := reportState(t)
	page := filepath.Join(t.TempDir(), "report.html")
	_, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir, "-o", page)
	require.Zero(t, code, stderr)

	dom := headless(t, bin, page, "--dump-dom")
	pc := countPage(t, string(dom))
	for _, ch := range []string{"offset", "jitter", "score"} {
		require.Equal(t, 4, pc.Series[ch], ch)
		require.Equal(t, 32, pc.Points[ch], ch)
	}
	require.Equal(t, map[string]int{repA: 1, repB: 1, repC: 1}, pc.Lanes)
	require.Equal(t, 10, pc.Runs)

	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, bin, page, "--screenshot="+shot, "--window-size=1200,2000")
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 1200, 2000), img.Bounds())

	colours := map[color.RGBA]bool{}
	nonWhite := 0
	series := make([]int, 4) // pixels of palette[0..3], the four servers
	want := make([]color.RGBA, len(series))
	for i := range want {
		want[i] = hexColour(t, palette[i])
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colours[c] = true
			if c.R < 250 || c.G < 250 || c.B < 250 {
				nonWhite++
			}
			for i, w := range want {
				if near(c, w, 12) {
					series[i]++
				}
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot: %d colours, %.1f%% not white, series pixels %v", len(colours), 100*float64(nonWhite)/float64(total), series)
	require.Greater(t, len(colours), 100, "a page of text and charts, not a blank one")
	require.Greater(t, nonWhite, total/50)
	// The swatch, the legend keys and the run marks come to 270-390
	// pixels of each colour (measured with the series taken out of the
	// page); with them, the lines and points of three charts come to
	// 1300-3300.
	for i, n := range series {
		require.Greater(t, n, 800, "the series in %s is drawn", palette[i])
	}
}

func hexColour(t *testing.T, s string) color.RGBA {
	v, err := strconv.ParseUint(s[1:], 16, 32)
	require.NoError(t, err)
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

func near(a, b color.RGBA, d int) bool {
	diff := func(x, y uint8) bool { return max(int(x)-int(y), int(y)-int(x)) <= d }
	return diff(a.R, b.R) && diff(a.G, b.G) && diff(a.B, b.B)
}
