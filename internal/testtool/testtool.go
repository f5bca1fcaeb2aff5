// Package testtool finds the external commands tests run (promtool,
// systemd-analyze, dpkg, ansible-playbook ...) with the project's rule:
// locally a missing command skips the test with a message saying which
// Debian package provides it; with CI=true it fails the test, so CI never
// passes by skipping.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of command name, or skips (locally) or fails
// (CI=true) the test, naming debianPackage.
func Need(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (Debian package %s)", name, debianPackage)
	}
	t.Skipf("%s is missing: apt-get install %s", name, debianPackage)
	return ""
}
