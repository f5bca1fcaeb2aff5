package chronytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Version selects a chronyd release.
type Version string

// The releases tests can run against.
const (
	V43 Version = "4.3" // the host's chronyd (Debian 12)
	V46 Version = "4.6" // Debian 13's chronyd, in the chroot at Root46()
)

// Versions lists every release, for tests that run against each.
var Versions = []Version{V43, V46}

// DefaultRoot46 is where scripts/test-deps.sh makes the Debian 13 chroot.
const DefaultRoot46 = "/var/cache/ntp-optimizer-ci/trixie-chrony"

// Root46 returns the chroot holding chronyd 4.6 ($NTPO_CHRONY46_ROOT or
// DefaultRoot46).
func Root46() string {
	if r := os.Getenv("NTPO_CHRONY46_ROOT"); r != "" {
		return filepath.Clean(r)
	}
	return DefaultRoot46
}

// Need skips the test when the chronyd for v cannot be run here (missing,
// or the test is not root), or fails it when the environment has
// CI=true.
func Need(t testing.TB, v Version) {
	t.Helper()
	if msg := missing(v); msg != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s", msg)
			return
		}
		t.Skip(msg + " (run scripts/test-deps.sh as root; with CI=true this fails)")
	}
}

// missing says why v cannot be run, or "".
func missing(v Version) string {
	if os.Geteuid() != 0 {
		return "the chronyd tests must run as root (chronyd -u root, chroot)"
	}
	switch v {
	case V43, "":
		if _, err := exec.LookPath(hostChronyd()); err != nil {
			return "chronyd is not installed (apt-get install chrony)"
		}
	case V46:
		root := Root46()
		if _, err := os.Stat(filepath.Join(root, "usr/sbin/chronyd")); err != nil {
			return fmt.Sprintf("no chronyd 4.6 chroot at %s", root)
		}
		if fi, err := os.Stat(filepath.Join(root, root)); err != nil || !fi.IsDir() {
			return fmt.Sprintf("the chroot %s lacks the link %s%s -> / (scripts/test-deps.sh makes it)", root, root, root)
		}
	default:
		return fmt.Sprintf("unknown chronyd version %q", v)
	}
	return ""
}

func hostChronyd() string {
	if _, err := os.Stat("/usr/sbin/chronyd"); err == nil {
		return "/usr/sbin/chronyd"
	}
	return "chronyd"
}

// command returns the argv prefix that runs program (chronyd or chronyc)
// of release v.
func command(v Version, program string) []string {
	if v == V46 {
		return []string{"chroot", Root46(), "/usr/" + map[string]string{"chronyd": "sbin", "chronyc": "bin"}[program] + "/" + program}
	}
	if program == "chronyd" {
		return []string{hostChronyd()}
	}
	return []string{"chronyc"}
}

// tempDir makes a short temporary directory visible to release v (under
// the chroot's /tmp for 4.6); Unix socket paths must stay under 108 bytes.
func tempDir(t testing.TB, v Version) string {
	t.Helper()
	base := ""
	if v == V46 {
		base = filepath.Join(Root46(), "tmp")
	}
	dir, err := os.MkdirTemp(base, "ntpo")
	if err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
