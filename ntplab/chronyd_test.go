package ntplab_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// chronydRelease is one chronyd to test against: the host's, or the one in
// the Debian 13 chroot (see scripts/test-deps.sh).
type chronydRelease struct {
	name string
	root string // chroot directory, "" for the host
}

func (r chronydRelease) bin(prog string) string { return filepath.Join(r.root, "/usr", prog) }

// need skips (or, with CI=true, fails) when this chronyd is not installed.
func (r chronydRelease) need(t *testing.T) {
	t.Helper()
	for _, p := range []string{"sbin/chronyd", "bin/chronyc"} {
		if _, err := os.Stat(r.bin(p)); err != nil {
			msg := fmt.Sprintf("%s is not installed (%v): run scripts/test-deps.sh", r.bin(p), err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// command runs prog (inside the chroot if there is one).
func (r chronydRelease) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	if r.root == "" {
		return exec.CommandContext(ctx, "/usr/"+prog, args...)
	}
	return exec.CommandContext(ctx, "chroot", append([]string{r.root, "/usr/" + prog}, args...)...)
}

func releases() []chronydRelease {
	root46 := os.Getenv("NTPO_CHRONY46_ROOT")
	if root46 == "" {
		root46 = "/var/cache/ntp-optimizer-ci/trixie-chrony"
	}
	return []chronydRelease{{name: "host"}, {name: "4.6", root: root46}}
}

// TestChronydUsesLab points a sandboxed chronyd -x (never touching the
// clock) at lab servers and checks, with chronyc, that it reaches them and
// measures the offsets the profiles set.
func TestChronydUsesLab(t *testing.T) {
	for _, rel := range releases() {
		t.Run(rel.name, func(t *testing.T) {
			rel.need(t)
			lab := labtest.Start(t, labtest.Scenario(t, "chronyd",
				ntplab.Profile{Name: "ref", Stratum: 1, Delay: time.Millisecond},
				ntplab.Profile{Name: "unsync", Unsynchronized: true, Delay: time.Millisecond},
				ntplab.Profile{Name: "deny", KoD: "DENY", Delay: time.Millisecond},
				ntplab.Profile{Name: "ahead", Stratum: 1, Offset: 12 * time.Millisecond, Delay: time.Millisecond},
				ntplab.Profile{Name: "behind", Stratum: 2, Offset: -7 * time.Millisecond, Delay: 2 * time.Millisecond,
					Jitter: 100 * time.Microsecond, RootDelay: 5 * time.Millisecond, RootDispersion: time.Millisecond},
				ntplab.Profile{Name: "asym", Stratum: 2, Offset: 3 * time.Millisecond, Delay: 3 * time.Millisecond,
					Asymmetry: 2 * time.Millisecond},
			))
			dir := tempDir(t, rel.root)
			var conf strings.Builder
			for _, s := range lab.Servers() {
				opt := " noselect"
				if s.Profile().Name == "ref" {
					opt = ""
				}
				fmt.Fprintf(&conf, "server %s port %d iburst minpoll -1 maxpoll 0%s\n", s.Addr().Addr(), s.Addr().Port(), opt)
			}
			fmt.Fprintf(&conf, "port 0\ncmdport 0\nbindcmdaddress %s/chronyd.sock\npidfile %s/chronyd.pid\n", dir, dir)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "chrony.conf"), []byte(conf.String()), 0o600))

			ctx, cancel := context.WithCancel(context.Background())
			var log bytes.Buffer
			cmd := rel.command(ctx, "sbin/chronyd", "-x", "-u", "root", "-d", "-f", dir+"/chrony.conf")
			cmd.Stdout, cmd.Stderr = &log, &log
			require.NoError(t, cmd.Start())
			t.Cleanup(func() {
				cancel()
				_ = cmd.Wait()
				if t.Failed() {
					t.Logf("chronyd log:\n%s", log.String())
				}
			})

			// Poll chronyc until the usable sources have 4 good samples and
			// chronyd selected the reference (bounded).
			usable := map[string]bool{"ref": true, "ahead": true, "behind": true, "asym": true}
			var rows map[string]sourceRow
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
				rows = chronycSources(t, ctx, rel, dir)
				done := len(rows) == len(lab.Servers())
				for _, s := range lab.Servers() {
					r := rows[s.Addr().Addr().String()]
					if usable[s.Profile().Name] && r.reach&0o17 != 0o17 || s.Profile().Name == "ref" && r.state != "*" {
						done = false
					}
				}
				if done {
					break
				}
			}
			t.Logf("chronyc -c -n sources: %+v", rows)
			for _, s := range lab.Servers() {
				p := s.Profile()
				row, ok := rows[s.Addr().Addr().String()]
				require.True(t, ok, "chronyc lists %s", s.Addr())
				if !usable[p.Name] {
					// chronyd rejects unsynchronised and KoD replies: the
					// lab got its polls but none counted as reached.
					require.Zero(t, row.reach, "%s: reach", p.Name)
					require.Positive(t, s.Stats().Received, "%s: packets received", p.Name)
					continue
				}
				require.Equal(t, uint64(0o17), row.reach&0o17, "%s: last 4 polls answered (reach %o)", p.Name, row.reach)
				require.EqualValues(t, p.Stratum, row.stratum, p.Name)
				// chronyc's offset is positive when the local clock is ahead
				// of the source. The only selectable source ("ref") has
				// offset 0, so chronyd's virtual correction under -x is
				// negligible and the others' samples stay raw.
				want := -(p.Offset + p.Asymmetry/2).Seconds()
				require.InDelta(t, want, row.offset, 0.0005, "%s offset", p.Name)
			}
			require.Equal(t, "*", rows[lab.Server("ref").Addr().Addr().String()].state, "chronyd selected the lab's reference")
		})
	}
}

type sourceRow struct {
	state   string
	stratum int
	reach   uint64
	offset  float64 // seconds, as chronyc -c prints it
}

// chronycSources runs `chronyc -c -n sources` against the sandbox socket.
func chronycSources(t *testing.T, ctx context.Context, rel chronydRelease, dir string) map[string]sourceRow {
	t.Helper()
	out, err := rel.command(ctx, "bin/chronyc", "-h", dir+"/chronyd.sock", "-c", "-n", "sources").Output()
	if err != nil {
		return nil // not up yet
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	require.NoError(t, err, "chronyc -c output:\n%s", out)
	rows := map[string]sourceRow{}
	for _, r := range recs {
		require.GreaterOrEqual(t, len(r), 10, "chronyc -c row %q", r)
		stratum, _ := strconv.Atoi(r[3])
		reach, _ := strconv.ParseUint(r[5], 8, 16)
		off, _ := strconv.ParseFloat(r[8], 64)
		rows[r[2]] = sourceRow{state: r[1], stratum: stratum, reach: reach, offset: off}
	}
	return rows
}

// tempDir makes a 0700 directory for chronyd's files: a test temp dir for
// the host, or one under the chroot (whose root maps host paths, see
// scripts/test-deps.sh), removed at the end.
func tempDir(t *testing.T, root string) string {
	t.Helper()
	if root == "" {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o700))
		return dir
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o1777))
	dir, err := os.MkdirTemp(filepath.Join(root, "tmp"), "ntplab-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o700))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
