package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// manSection returns the lines of the man page's section name (.SH name),
// up to the next .SH.
func manSection(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(manPage, "\n") {
		if strings.HasPrefix(l, ".SH ") {
			in = strings.TrimSpace(strings.TrimPrefix(l, ".SH ")) == name
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	require.NotEmpty(t, out, "no section %s", name)
	return out
}

// tagged returns the words that follow a .TP as ".B word": the items of a
// tagged list.
func tagged(lines []string) []string {
	var out []string
	for i := 1; i < len(lines); i++ {
		if lines[i-1] == ".TP" && strings.HasPrefix(lines[i], ".B ") {
			out = append(out, strings.ReplaceAll(strings.TrimPrefix(lines[i], ".B "), `\-`, "-"))
		}
	}
	return out
}

// TestManPage: the man page has the sections a sysadmin looks for, a date,
// every visible command and every exit code of the README's table, and
// mandoc -Tlint finds nothing in it; `man` prints it.
func TestManPage(t *testing.T) {
	var sections []string
	for _, l := range strings.Split(manPage, "\n") {
		if s, ok := strings.CutPrefix(l, ".SH "); ok {
			sections = append(sections, s)
		}
	}
	require.Equal(t, []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES",
		"EXAMPLES", "SEE ALSO"}, sections)

	th := regexp.MustCompile(`(?m)^\.TH NTP-OPTIMIZER 8 (\d{4}-\d{2}-\d{2}) `).FindStringSubmatch(manPage)
	require.NotNil(t, th, ".TH with a date")
	_, err := time.Parse(time.DateOnly, th[1])
	require.NoError(t, err)

	var cmds []string
	for _, c := range newApp().VisibleCommands() {
		if c.Name != "help" {
			cmds = append(cmds, c.Name)
		}
	}
	got := tagged(manSection(t, "COMMANDS"))
	slices.Sort(cmds)
	slices.Sort(got)
	require.Equal(t, cmds, got, "COMMANDS lists the CLI's commands")

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	codes := regexp.MustCompile(`(?m)^\| (\d) \| `).FindAllStringSubmatch(string(readme), -1)
	var want []string
	for _, c := range codes {
		want = append(want, c[1])
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, tagged(manSection(t, "EXIT STATUS")), "EXIT STATUS is the README's table")

	out, stderr, code := runApp(t, "man")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, manPage, out)

	if groff, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command(groff, "-man", "-ww", "-z")
		cmd.Stdin = strings.NewReader(manPage)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", msg)
		require.Empty(t, string(msg), "groff warnings")
	}
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mandoc is missing (scripts/test-deps.sh installs it)")
		}
		t.Skip("mandoc is missing")
	}
	lint, err := exec.Command(mandoc, "-Tlint", "-W", "all", "ntp-optimizer.8").CombinedOutput()
	require.NoError(t, err, "mandoc -Tlint:\n%s", lint)
	require.Empty(t, string(lint))
}
