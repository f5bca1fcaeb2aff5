package chronyctl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// exec43 runs the host's chronyc (4.3) against socket.
func exec43(socket string, args ...string) (string, error) {
	out, err := exec.Command("chronyc", append([]string{"-h", socket}, args...)...).CombinedOutput()
	return string(out), err
}

// daemonPID reads d's pidfile.
func daemonPID(t *testing.T, d *chronytest.Daemon) int {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(d.Socket), "chronyd.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}
