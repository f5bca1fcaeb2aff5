package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompletionScripts checks each script: it names the program, the
// shell (where installed) parses it, and fish's lists every command. The
// bash script's answers are checked against a built binary in
// deploy/install_test.go.
func TestCompletionScripts(t *testing.T) {
	for _, tc := range []struct {
		shell string
		check []string // the shell's syntax check, when the shell is here
		want  []string
	}{
		{shell: "bash", check: []string{"bash", "-n"}, want: []string{"complete -o bashdefault -o default -F _ntp_optimizer ntp-optimizer", "--generate-bash-completion"}},
		{shell: "zsh", check: []string{"zsh", "-n"}, want: []string{"#compdef ntp-optimizer\n", "--generate-bash-completion"}},
		{shell: "fish", check: []string{"fish", "--no-execute"}, want: []string{"complete -c ntp-optimizer "}},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			out, errOut, code := runApp(t, "completion", tc.shell)
			require.Zero(t, code, errOut)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			if tc.shell == "fish" {
				for _, c := range newApp().VisibleCommands() {
					require.Contains(t, out, "-a '"+c.Name+"'", "fish completion lacks %s", c.Name)
				}
				require.Contains(t, out, "-l dry-run", "flags of commands are listed")
			}
			sh, err := exec.LookPath(tc.check[0])
			if err != nil {
				t.Logf("%s is not installed: the script is not parsed", tc.check[0])
				return
			}
			path := filepath.Join(t.TempDir(), "script")
			require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
			msg, err := exec.Command(sh, append(tc.check[1:], path)...).CombinedOutput()
			require.NoError(t, err, "%s", msg)
			require.Empty(t, strings.TrimSpace(string(msg)))
		})
	}
}

func TestCompletionUsage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no shell", args: nil, wantErr: "completion takes one shell"},
		{name: "two shells", args: []string{"bash", "zsh"}, wantErr: "completion takes one shell"},
		{name: "unknown shell", args: []string{"tcsh"}, wantErr: `unknown shell "tcsh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runApp(t, append([]string{"completion"}, tc.args...)...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, errOut, tc.wantErr)
		})
	}
}
