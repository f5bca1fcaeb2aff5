package nspawntest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Root is a cached bootable root: Debian 12 minbase with systemd,
// systemd-sysv, dbus and Packages.
type Root struct {
	// Name names the cache directory, bookworm-Name.
	Name string
	// Packages are installed besides systemd, systemd-sysv and dbus.
	Packages []string
}

// The roots the tests use. Debian's chrony conflicts with ntpsec and
// systemd-timesyncd, so each daemon has its own.
var (
	Chrony    = Root{Name: "chrony", Packages: []string{"chrony"}}
	NTPsec    = Root{Name: "ntpsec", Packages: []string{"ntpsec"}}
	Timesyncd = Root{Name: "timesyncd", Packages: []string{"systemd-timesyncd"}}
)

// buildTimeout bounds one debootstrap (about 70 s with a warm package
// cache; downloading the packages the first time takes longer).
const buildTimeout = 10 * time.Minute

// basePackages make a root bootable with a system bus.
var basePackages = []string{"systemd", "systemd-sysv", "dbus"}

// CacheDir is where roots and their downloaded packages are kept:
// $NTPO_NSPAWN_CACHE, else /var/cache/ntp-optimizer-ci (where
// scripts/test-deps.sh keeps its chroots).
func CacheDir() string {
	if d := os.Getenv("NTPO_NSPAWN_CACHE"); d != "" {
		return d
	}
	return "/var/cache/ntp-optimizer-ci"
}

// Path is the root's directory in the cache.
func (r Root) Path() string { return filepath.Join(CacheDir(), "bookworm-"+r.Name) }

// marker is written into a finished root; it lists the packages, so a root
// built from another list is rebuilt.
const marker = ".ntp-optimizer-root"

func (r Root) manifest() string {
	return "bookworm minbase " + strings.Join(append(append([]string{}, basePackages...), r.Packages...), ",") + "\n"
}

// ready reports whether the cached root is complete and of this list.
func (r Root) ready() bool {
	b, err := os.ReadFile(filepath.Join(r.Path(), marker))
	return err == nil && string(b) == r.manifest()
}

// Ensure returns the root's directory, building it with debootstrap the
// first time (one build at a time per root, also across test processes:
// a lock file beside it). A failed build fails the test with debootstrap's
// log.
func Ensure(t testing.TB, r Root) string {
	t.Helper()
	Need(t)
	if r.ready() {
		return r.Path()
	}
	debootstrap := need(t, "debootstrap", "debootstrap")
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		t.Fatalf("nspawntest: %v", err)
	}
	lock, err := os.OpenFile(r.Path()+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("nspawntest: %v", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("nspawntest: lock %s: %v", lock.Name(), err)
	}
	defer func() { _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN) }()
	if r.ready() { // built by another test while this one waited
		return r.Path()
	}
	start := time.Now()
	if err := r.build(debootstrap); err != nil {
		t.Fatalf("nspawntest: building the %s root: %v", r.Name, err)
	}
	t.Logf("nspawntest: built the %s root at %s in %s", r.Name, r.Path(), time.Since(start).Round(time.Second))
	return r.Path()
}

func (r Root) build(debootstrap string) error {
	final, tmp, log := r.Path(), r.Path()+".tmp", r.Path()+".log"
	debs := filepath.Join(CacheDir(), "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	mirror := os.Getenv("NTPO_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	pkgs := append(append([]string{}, basePackages...), r.Packages...)
	cmd := exec.CommandContext(ctx, debootstrap, "--variant=minbase", "--cache-dir="+debs,
		"--include="+strings.Join(pkgs, ","), "bookworm", tmp, mirror)
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(log, out, 0o644)
	if err != nil {
		return fmt.Errorf("debootstrap: %w (log: %s):\n%s", err, log, tail(string(out), 20))
	}
	if err := prepare(tmp, r.Name); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, marker), []byte(r.manifest()), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// prepare makes a fresh root behave like an installed machine: package
// scripts may start services (no policy-rc.d), localhost resolves, and
// the journal names the container.
func prepare(root, name string) error {
	if err := os.Remove(filepath.Join(root, "usr/sbin/policy-rc.d")); err != nil && !os.IsNotExist(err) {
		return err
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("ntpo-"+name+"\n"), 0o644); err != nil {
		return err
	}
	archives, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	for _, a := range archives {
		_ = os.Remove(a)
	}
	return nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
