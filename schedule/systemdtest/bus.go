package systemdtest

import (
	"testing"

	"github.com/ntp-optimizer/ntp-optimizer/fallback/fallbacktest"
)

// StartBus starts a private dbus-daemon for the test and returns its
// address; it is fallbacktest's (one private bus helper for the tree).
// Without dbus-daemon the test is skipped, or fails when CI=true.
func StartBus(t testing.TB) string {
	t.Helper()
	return fallbacktest.StartBus(t)
}
