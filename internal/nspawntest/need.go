package nspawntest

import (
	"os"
	"testing"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// Need skips the test (locally) or fails it (CI=true) unless it runs as
// root with systemd-nspawn and nsenter at hand.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the booted-container tests need root (systemd-nspawn)")
		}
		t.Skip("the booted-container tests need root (systemd-nspawn)")
	}
	need(t, "systemd-nspawn", "systemd-container")
	need(t, "nsenter", "util-linux")
}

func need(t testing.TB, name, pkg string) string {
	t.Helper()
	return testtool.Need(t, name, pkg)
}
