package fallback

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func planFor(t *testing.T, root string, policy daemon.Policy, servers []Server) *Change {
	t.Helper()
	n, err := NewNTPD(NTPDConfig{Root: root})
	require.NoError(t, err)
	c, err := n.Plan(servers, policy)
	require.NoError(t, err)
	return c
}

// TestGolden checks the edit of every fixture against the reviewed
// expected file and diff, for both policies.
func TestGolden(t *testing.T) {
	for _, fx := range append(confFixtures, "hard-include") {
		for _, policy := range []daemon.Policy{daemon.PolicyConverge, daemon.PolicyAddOnly} {
			t.Run(fx+"/"+string(policy), func(t *testing.T) {
				root := rootWith(t, fx, "/etc/ntpsec/ntp.conf")
				c := planFor(t, root, policy, selection)
				var got strings.Builder
				for _, fc := range c.Files {
					got.WriteString("==> " + fc.Path + "\n")
					got.Write(fc.New)
				}
				golden := filepath.Join(fixtureDir, "golden", fx+"."+string(policy))
				checkGolden(t, golden+".conf", got.String())
				diff := c.Diff()
				for _, w := range c.Warnings {
					diff += "warning: " + w + "\n"
				}
				checkGolden(t, golden+".diff", diff)
			})
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	require.Equal(t, string(want), got)
}

// TestApplyRevertIdentity is the property: for every fixture, policy and
// selection, the edited file carries exactly the selection, and stripping
// the edits gives back the original bytes; planning again on the edited
// file changes nothing.
func TestApplyRevertIdentity(t *testing.T) {
	selections := [][]Server{
		selection,
		selection[:1],
		{{Name: "0.debian.pool.ntp.org", Origin: "test"}, {Name: "a.example.org", Origin: "test"}},
	}
	for _, fx := range append(confFixtures, "hard-include") {
		for _, policy := range []daemon.Policy{daemon.PolicyConverge, daemon.PolicyAddOnly} {
			for i, sel := range selections {
				t.Run(fx+"/"+string(policy)+"/"+string(rune('a'+i)), func(t *testing.T) {
					root := rootWith(t, fx, "/etc/ntpsec/ntp.conf")
					before := snapshot(t, root)
					c := planFor(t, root, policy, sel)
					require.Equal(t, before, snapshot(t, root), "Plan must not touch anything")
					for _, fc := range c.Files {
						writeFile(t, filepath.Join(root, fc.Path), fc.New)
					}
					n, err := NewNTPD(NTPDConfig{Root: root})
					require.NoError(t, err)
					files, err := n.tree()
					require.NoError(t, err)
					names, managed := activeSources(files)
					var inBlock []string
					for j := range names {
						if managed[j] {
							inBlock = append(inBlock, names[j])
						} else if policy == daemon.PolicyConverge {
							t.Fatalf("converge left %q active outside the block", names[j])
						}
					}
					if policy == daemon.PolicyConverge {
						require.Equal(t, serverNames(sel), inBlock)
					}
					again := planFor(t, root, policy, sel)
					require.True(t, again.Empty(), "second apply of the same selection must change nothing:\n%s", again.Diff())
					rc, err := n.PlanRevert()
					require.NoError(t, err)
					for _, fc := range rc.Files {
						writeFile(t, filepath.Join(root, fc.Path), fc.New)
					}
					if fx == "hard-earlier-run.conf" {
						want := readFile(t, filepath.Join(fixtureDir, "ntpsec-debian12.conf"))
						require.Equal(t, string(want), string(readFile(t, filepath.Join(root, "/etc/ntpsec/ntp.conf"))))
						return
					}
					require.Equal(t, before, snapshot(t, root), "revert must restore every byte")
				})
			}
		}
	}
}

// TestEarlierRunFixture checks that hard-earlier-run.conf is what the
// package makes of ntpsec-debian12.conf for its two servers, so the
// fixture stays an honest "file from an earlier run".
func TestEarlierRunFixture(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	c := planFor(t, root, daemon.PolicyConverge, []Server{{Name: "old1.example.net", Origin: "test"}, {Name: "old2.example.net", Origin: "test"}})
	require.Len(t, c.Files, 1)
	checkGolden(t, filepath.Join(fixtureDir, "hard-earlier-run.conf"), string(c.Files[0].New))
}

// TestInjectionRejected feeds names carrying configuration syntax: each
// is rejected with its origin, and nothing is written.
func TestInjectionRejected(t *testing.T) {
	tests := []struct {
		name, server, reason string
	}{
		{name: "ntp.conf directive", server: "a\nrestrict default", reason: "control character"},
		{name: "timesyncd section", server: "a\n[Time]", reason: "control character"},
		{name: "carriage return", server: "a.example\rserver evil", reason: "control character"},
		{name: "comment", server: "a.example#x", reason: "'#'"},
		{name: "option smuggling", server: "a.example noselect", reason: "whitespace"},
		{name: "empty", server: "", reason: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
			writeFile(t, filepath.Join(root, TimesyncdDropIn), []byte("[Time]\nNTP=keep.example.org\n"))
			before := snapshot(t, root)
			servers := []Server{{Name: "good.example.org", Origin: "catalog"}, {Name: tc.server, Origin: "servers.txt line 3"}}
			n, err := NewNTPD(NTPDConfig{Root: root})
			require.NoError(t, err)
			_, err = n.Plan(servers, daemon.PolicyConverge)
			require.ErrorContains(t, err, "servers.txt line 3")
			require.ErrorContains(t, err, tc.reason)
			ts, err := NewTimesyncd(TimesyncdConfig{Root: root})
			require.NoError(t, err)
			_, err = ts.Plan(servers, daemon.PolicyConverge)
			require.ErrorContains(t, err, "servers.txt line 3")
			require.Equal(t, before, snapshot(t, root))
		})
	}
}

func TestPlanErrors(t *testing.T) {
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	n, err := NewNTPD(NTPDConfig{Root: root})
	require.NoError(t, err)
	_, err = n.Plan(nil, daemon.PolicyConverge)
	require.ErrorIs(t, err, ErrNoServers)
	_, err = n.Plan(selection, daemon.Policy("replace"))
	require.ErrorContains(t, err, `policy "replace"`)
	_, err = n.Plan([]Server{{Name: "a.example", Origin: "x"}, {Name: "a.example", Origin: "y"}}, daemon.PolicyConverge)
	require.ErrorContains(t, err, "listed twice")

	empty, err := NewNTPD(NTPDConfig{Root: t.TempDir()})
	require.NoError(t, err)
	_, err = empty.Plan(selection, daemon.PolicyConverge)
	require.ErrorIs(t, err, ErrNoNTPConf)
}

func TestUnbalancedMarkers(t *testing.T) {
	for name, text := range map[string]string{
		"begin without end": "server a iburst\n# BEGIN ntp-optimizer\nserver b iburst\n",
		"end without begin": "# END ntp-optimizer\nserver a iburst\n",
		"nested":            "# BEGIN ntp-optimizer\n# BEGIN ntp-optimizer\n# END ntp-optimizer\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "/etc/ntp.conf"), []byte(text))
			n, err := NewNTPD(NTPDConfig{Root: root})
			require.NoError(t, err)
			_, err = n.Plan(selection, daemon.PolicyConverge)
			require.ErrorIs(t, err, ErrMarkers)
			require.ErrorContains(t, err, "/etc/ntp.conf:")
		})
	}
}

func TestCurrent(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string
	}{
		{"ntpsec-debian12.conf", []string{"0.debian.pool.ntp.org", "1.debian.pool.ntp.org", "2.debian.pool.ntp.org", "3.debian.pool.ntp.org"}},
		{"ntp-centos7.conf", []string{"0.centos.pool.ntp.org", "1.centos.pool.ntp.org", "2.centos.pool.ntp.org", "3.centos.pool.ntp.org"}},
		{"hard-refclock-peer.conf", []string{"tab-indented.example.org"}},
		{"hard-include", []string{"inc1.example.org", "inc2.example.org"}},
		{"hard-earlier-run.conf", []string{"old1.example.net", "old2.example.net"}},
		{"hard-no-final-newline-no-servers.conf", nil},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			root := rootWith(t, tc.fixture, "/etc/ntpsec/ntp.conf")
			n, err := NewNTPD(NTPDConfig{Root: root})
			require.NoError(t, err)
			got, err := n.Current(t.Context())
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSymlinkedConf edits the file a symlinked ntp.conf points to and
// keeps the symlink.
func TestSymlinkedConf(t *testing.T) {
	root := rootWith(t, "ntp-centos7.conf", "/etc/ntp/real.conf")
	require.NoError(t, os.Symlink("/etc/ntp/real.conf", filepath.Join(root, "/etc/ntp.conf")))
	c := planFor(t, root, daemon.PolicyConverge, selection)
	require.Len(t, c.Files, 1)
	require.Equal(t, "/etc/ntp/real.conf", c.Files[0].Path)
}

// FuzzNTPEdit checks the edit properties on arbitrary files: stripping the
// edited file gives the stripped original (the original itself when it
// had no markers), and editing the edited file again changes nothing.
func FuzzNTPEdit(f *testing.F) {
	for _, fx := range confFixtures {
		if b, err := os.ReadFile(filepath.Join(fixtureDir, fx)); err == nil {
			f.Add(b, true)
		}
	}
	f.Add([]byte("server a\r\n# BEGIN ntp-optimizer\n# END ntp-optimizer"), false)
	f.Fuzz(func(t *testing.T, data []byte, converge bool) {
		policy := daemon.PolicyAddOnly
		if converge {
			policy = daemon.PolicyConverge
		}
		orig := &confFile{path: "/etc/ntp.conf", data: data, lines: splitLines(data)}
		edits, _, err := ntpEdit([]*confFile{orig}, selection[:2], policy, false)
		if err != nil {
			return // unbalanced markers: refused
		}
		nb, ok := edits[orig.path]
		if !ok {
			nb = data
		}
		want, err := stripLines(orig.path, orig.lines)
		if err != nil {
			t.Fatal(err)
		}
		got, err := stripLines(orig.path, splitLines(nb))
		if err != nil {
			t.Fatalf("edited file does not strip: %v\n%q", err, nb)
		}
		if string(joinLines(got)) != string(joinLines(want)) {
			t.Fatalf("strip(edit(x)) != strip(x)\nx: %q\nedit: %q", data, nb)
		}
		again, _, err := ntpEdit([]*confFile{{path: orig.path, data: nb, lines: splitLines(nb)}}, selection[:2], policy, false)
		if err != nil || len(again) != 0 {
			t.Fatalf("second edit changes the file: %v %q", err, again)
		}
	})
}
