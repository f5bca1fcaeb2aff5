package chronytest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// recordingTB records how a test ended instead of ending it.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                        {}
func (r *recordingTB) Fatalf(format string, a ...any) { r.fatal = format }
func (r *recordingTB) Skip(a ...any)                  { r.skip = "skip" }

func TestNeedFailsInCI(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recordingTB{TB: t}
		Need(r, "9.9") // no such release
		if ci == "true" {
			require.NotEmpty(t, r.fatal, "CI=true fails")
			require.Empty(t, r.skip)
		} else {
			require.Empty(t, r.fatal)
			require.NotEmpty(t, r.skip, "locally it skips")
		}
	}
}

func TestFixtureRoundTrip(t *testing.T) {
	req := append([]byte{6, 1, 0, 0, 0, 15, 0, 2, 1, 2, 3, 4}, make([]byte, 64)...)
	req[23] = 7 // SOURCE_DATA index 7
	reply := []byte{6, 2, 0, 0, 0, 15, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 0xAA}
	f := &Fixture{Comment: []string{"made by a test"}, Exchanges: []Exchange{{Note: "sourcedata 7", Request: req, Reply: reply}}}
	path := filepath.Join(t.TempDir(), "f.txt")
	require.NoError(t, f.Write(path))
	g, err := ReadFixture(path)
	require.NoError(t, err)
	require.Equal(t, f.Comment, g.Comment)
	require.Equal(t, "sourcedata 7", g.Exchanges[0].Note)

	// Another transmission of the same request, with its own sequence,
	// attempt and padding, gets the reply with its sequence.
	other := append(bytes.Clone(req[:24]), make([]byte, 400)...)
	other[7], other[8], other[11] = 1, 0xDE, 0xEF
	got, ok := g.Reply(other)
	require.True(t, ok)
	require.Equal(t, []byte{0xDE, 2, 3, 0xEF}, got[16:20])
	require.Equal(t, byte(0xAA), got[20])
	other[23] = 8 // another index
	_, ok = g.Reply(other)
	require.False(t, ok)
}

func TestServeAnswersFromFixture(t *testing.T) {
	f, err := ReadFixture("../../testdata/chrony/replies-4.3.txt")
	require.NoError(t, err)
	fake := Serve(t, f)
	c, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: fake.Socket, Timeout: 200 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)
	defer c.Close()
	n, err := c.NumSources(context.Background())
	require.NoError(t, err)
	require.Equal(t, 4, n)
	err = c.Refresh(context.Background()) // not in the fixture
	require.ErrorIs(t, err, chronyctl.ErrInvalid)
	require.Len(t, fake.Requests(), 2)
}
