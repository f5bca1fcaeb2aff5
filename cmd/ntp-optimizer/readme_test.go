package main

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the --help blocks of README.md")

// helpBlock matches a README block "<!-- help: ARGS -->...<!-- /help -->".
var helpBlock = regexp.MustCompile("(?s)<!-- help: ([^>]*) -->\n(.*?)<!-- /help -->")

// TestREADMEHelpIsCurrent keeps the README's pasted --help in step with the
// code: every help block must equal what the command prints. Run with
// -update-readme to rewrite them.
func TestREADMEHelpIsCurrent(t *testing.T) {
	path := "../../README.md"
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	blocks := helpBlock.FindAllSubmatchIndex(b, -1)
	require.NotEmpty(t, blocks, "README.md has no help blocks")
	var out strings.Builder
	last := 0
	for _, m := range blocks {
		args := strings.Fields(string(b[m[2]:m[3]]))
		help, stderr, code := runSerial(t, args...)
		require.Zero(t, code, "ntp-optimizer %v: %s", args, stderr)
		want := "```\n$ ntp-optimizer " + strings.Join(args, " ") + "\n" + help + "```\n"
		if !*updateREADME {
			require.Equal(t, want, string(b[m[4]:m[5]]), "README help for %v is stale: go test ./cmd/ntp-optimizer -run TestREADME -update-readme", args)
		}
		out.Write(b[last:m[4]])
		out.WriteString(want)
		last = m[5]
	}
	out.Write(b[last:])
	if *updateREADME {
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
}
