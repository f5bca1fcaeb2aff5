package fallback

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{name: "equal", old: "a\nb\n", new: "a\nb\n", want: ""},
		{name: "empty to one", old: "", new: "a\n", want: "--- o\n+++ n\n@@ -0,0 +1 @@\n+a\n"},
		{name: "one to empty", old: "a\n", new: "", want: "--- o\n+++ n\n@@ -1 +0,0 @@\n-a\n"},
		{name: "change middle", old: "1\n2\n3\n4\n5\n6\n7\n8\n9\n", new: "1\n2\n3\n4\nX\n6\n7\n8\n9\n",
			want: "--- o\n+++ n\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{name: "final newline added", old: "a\nb", new: "a\nb\n",
			want: "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{name: "crlf change", old: "a\r\nb\r\n", new: "a\r\nb\n",
			want: "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+b\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, UnifiedDiff("o", "n", []byte(tc.old), []byte(tc.new)))
		})
	}
}

// TestUnifiedDiffAgainstGNU compares the hunks with GNU diff -u and checks
// that GNU patch turns the old file into the new one with our diff, over
// the fixtures and their golden results and some edge cases.
func TestUnifiedDiffAgainstGNU(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("GNU diff is not installed")
	}
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("GNU patch is not installed")
	}
	type pair struct{ name, old, new string }
	var pairs []pair
	for _, fx := range confFixtures {
		old, err := os.ReadFile(filepath.Join(fixtureDir, fx))
		require.NoError(t, err)
		for _, policy := range []string{"converge", "add-only"} {
			g, err := os.ReadFile(filepath.Join(fixtureDir, "golden", fx+"."+policy+".conf"))
			require.NoError(t, err)
			_, nw, _ := strings.Cut(string(g), "\n") // drop the "==> path" header
			pairs = append(pairs, pair{fx + "/" + policy, string(old), nw})
		}
	}
	pairs = append(pairs,
		pair{"far apart", strings.Repeat("x\n", 20) + "a\n" + strings.Repeat("y\n", 20), "b\n" + strings.Repeat("x\n", 20) + strings.Repeat("y\n", 20) + "c"},
		pair{"all different", "a\nb\nc\n", "d\ne\n"},
		pair{"close hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\nX\n3\n4\n5\n6\n7\n8\nY\n10\n"},
	)
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			oldF, newF := filepath.Join(dir, "old"), filepath.Join(dir, "new")
			require.NoError(t, os.WriteFile(oldF, []byte(p.old), 0o644))
			require.NoError(t, os.WriteFile(newF, []byte(p.new), 0o644))
			ours := UnifiedDiff("old", "new", []byte(p.old), []byte(p.new))
			gnu, _ := exec.Command("diff", "-u", "--label", "old", "--label", "new", oldF, newF).Output()
			require.Equal(t, hunkHeaders(string(gnu)), hunkHeaders(ours), "hunk ranges differ from GNU diff\nours:\n%s\ngnu:\n%s", ours, gnu)
			cmd := exec.Command("patch", "-s", "-o", filepath.Join(dir, "patched"), oldF)
			cmd.Stdin = strings.NewReader(ours)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "patch: %s", out)
			require.Equal(t, p.new, string(readFile(t, filepath.Join(dir, "patched"))))
		})
	}
}

func hunkHeaders(d string) []string {
	var out []string
	for _, l := range strings.Split(d, "\n") {
		if strings.HasPrefix(l, "@@") {
			out = append(out, l)
		}
	}
	return out
}

func FuzzUnifiedDiff(f *testing.F) {
	for _, fx := range confFixtures {
		b, err := os.ReadFile(filepath.Join(fixtureDir, fx))
		if err == nil {
			f.Add(b, bytes.ReplaceAll(b, []byte("pool"), []byte("#pool")))
		}
	}
	f.Add([]byte("a\r\nb"), []byte("a\nb\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 4096 || len(b) > 4096 {
			return
		}
		d := UnifiedDiff("a", "b", a, b)
		if (d == "") != bytes.Equal(a, b) {
			t.Fatalf("empty diff iff equal: %q vs %q", a, b)
		}
		// Applying the hunks in memory gives back b.
		if got := applyUnified(t, a, d); !bytes.Equal(got, b) {
			t.Fatalf("applying the diff gives %q, want %q\n%s", got, b, d)
		}
	})
}

// applyUnified applies a diff made by UnifiedDiff to a (a minimal patch
// for the fuzz target; the GNU patch test covers the real tool).
func applyUnified(t *testing.T, a []byte, d string) []byte {
	if d == "" {
		return a
	}
	old := splitLines(a)
	var out []line
	pos := 0
	lines := strings.SplitAfter(d, "\n")
	for i := 2; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		switch l[0] {
		case '@':
			var as, al, bs, bl int
			if _, err := sscanHunk(l, &as, &al, &bs, &bl); err != nil {
				t.Fatalf("bad hunk header %q: %v", l, err)
			}
			start := as - 1
			if al == 0 {
				start = as
			}
			out = append(out, old[pos:start]...)
			pos = start
		case ' ', '-', '+':
			text := strings.TrimSuffix(l[1:], "\n")
			eol := "\n"
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\\ No newline") {
				eol = ""
			}
			if strings.HasSuffix(text, "\r") && eol == "\n" {
				text, eol = strings.TrimSuffix(text, "\r"), "\r\n"
			}
			if l[0] != '+' {
				pos++
			}
			if l[0] != '-' {
				out = append(out, line{text: text, eol: eol})
			}
		}
	}
	out = append(out, old[pos:]...)
	return joinLines(out)
}
