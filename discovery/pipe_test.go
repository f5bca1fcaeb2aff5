package discovery

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServersFilePipe: a named pipe nobody writes to is an error at once,
// not a run that hangs; a pipe whose writer writes is read like a file.
func TestServersFilePipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	start := time.Now()
	_, err := readServersFile(path)
	require.ErrorContains(t, err, "servers file "+path+": a pipe with nothing written to it (no writer)")
	require.Less(t, time.Since(start), 5*time.Second, "no writer: no wait")

	// An anonymous pipe, as process substitution gives (/dev/fd/N).
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	go func() {
		time.Sleep(50 * time.Millisecond) // a writer that takes its time
		_, _ = w.WriteString("ntp1.example.org\n")
		_ = w.Close()
	}()
	got, err := readServersFile("/dev/fd/" + strconv.Itoa(int(r.Fd())))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "ntp1.example.org", got[0].Name)
}
