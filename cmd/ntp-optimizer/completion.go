package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// completionScripts are the bash and zsh scripts: they ask the program
// itself for the words (urfave/cli's --generate-bash-completion, see
// EnableBashCompletion in main.go), after the scripts in urfave/cli's
// autocomplete directory, without their dependency on bash-completion's
// _get_comp_words_by_ref and without eval. fish gets a static script
// from urfave/cli's ToFishCompletion.
var completionScripts = map[string]string{
	"bash": `# bash completion for ntp-optimizer (ntp-optimizer completion bash)
_ntp_optimizer() {
	local cur=${COMP_WORDS[COMP_CWORD]} opts
	local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	if [[ $cur == -* ]]; then
		opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
	fi
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _ntp_optimizer ntp-optimizer
`,
	"zsh": `#compdef ntp-optimizer
# zsh completion for ntp-optimizer (ntp-optimizer completion zsh)

_ntp_optimizer() {
	local -a opts
	local cur=${words[-1]}
	if [[ $cur == -* ]]; then
		opts=("${(@f)$(${words[@]:0:#words[@]-1} $cur --generate-bash-completion 2>/dev/null)}")
	else
		opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ ${opts[1]} != "" ]]; then
		_describe 'values' opts
	else
		_files
	fi
}

if [[ $funcstack[1] == _ntp-optimizer ]]; then
	_ntp_optimizer "$@"
else
	compdef _ntp_optimizer ntp-optimizer
fi
`,
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print the shell completion script for bash, zsh or fish",
		// Hidden: the package and make install put the scripts where the
		// shells find them; the command is for them and for trying one.
		Hidden:    true,
		ArgsUsage: "bash|zsh|fish",
		Description: "The package installs the three scripts (/usr/share/bash-completion/completions,\n" +
			"/usr/share/zsh/vendor-completions, /usr/share/fish/vendor_completions.d). To try\n" +
			"one in the running shell: source <(ntp-optimizer completion bash).",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(fmt.Errorf("completion takes one shell (bash, zsh or fish), got %q", c.Args().Slice()))
			}
			script, err := completionScript(c.App, c.Args().First())
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// completionScript returns the script for shell.
func completionScript(app *cli.App, shell string) (string, error) {
	if s, ok := completionScripts[shell]; ok {
		return s, nil
	}
	if shell != "fish" {
		return "", usageError(fmt.Errorf("completion: unknown shell %q (want bash, zsh or fish)", shell))
	}
	s, err := app.ToFishCompletion()
	if err != nil {
		return "", fmt.Errorf("fish completion: %w", err)
	}
	return "# fish completion for ntp-optimizer (ntp-optimizer completion fish)\n" + s, nil
}
