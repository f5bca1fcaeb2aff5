package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"
	"github.com/stretchr/testify/require"
)

// TestRunServesUntilCancelled runs the demo scenario on a random loopback
// base with ephemeral ports, queries one server, then stops it.
func TestRunServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	addrs := filepath.Join(dir, "addrs")
	base := fmt.Sprintf("127.%d.%d.1", 1+rand.IntN(254), rand.IntN(256))
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"ntplab", "run", "--json", "--base", base, "--port", "0",
			"--addresses-file", addrs, filepath.Join("..", "..", "testdata", "lab", "demo.toml")})
	}()
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(addrs); err == nil {
			data = b
			break
		}
	}
	require.NotEmpty(t, data, "addresses file written")
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 9)
	f := strings.Fields(lines[0])
	require.Equal(t, []string{base, "good-gps"}, []string{f[0], f[2]})
	r, err := ntp.QueryWithOptions(f[0]+":"+f[1], ntp.QueryOptions{Timeout: time.Second})
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Stratum)

	cancel()
	require.NoError(t, <-done)
	var rows []serverJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &rows))
	require.Len(t, rows, 9)
	require.Equal(t, "falseticker", rows[6].Truth)
	require.InDelta(t, 0.150, rows[6].Offset, 1e-9)
	require.Contains(t, errOut.String(), "good-gps: received 1, replied 1")
}
