package config

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Flags returns a command-line flag for every key of the given sections
// ("" selects the top-level keys) and for the keys named by their path,
// grouped in --help by section.
func Flags(sectionsOrKeys ...string) []cli.Flag {
	want := map[string]bool{}
	for _, s := range sectionsOrKeys {
		want[s] = true
	}
	var flags []cli.Flag
	var def *Config
	for i := range Keys() {
		k := &allKeys[i]
		if k.Flag == "" || !(want[k.Section] || want[k.Path]) {
			continue
		}
		if def == nil {
			d := Default()
			def = &d
		}
		flags = append(flags, k.cliFlag(def))
	}
	return flags
}

func (k *Key) cliFlag(def *Config) cli.Flag {
	category := k.Section
	if category == "" {
		category = "sources"
	}
	usage := k.Usage + " (" + k.Path + ", $" + k.Env + ")"
	switch {
	case k.IsBool():
		return &cli.BoolFlag{Name: k.Flag, Usage: usage, Category: category, DefaultText: k.Format(def)}
	case k.IsList():
		return &cli.StringSliceFlag{Name: k.Flag, Usage: usage, Category: category}
	default:
		text := k.Format(def)
		if text == `""` {
			text = ""
		}
		return &cli.StringFlag{Name: k.Flag, Usage: usage, Category: category, DefaultText: text}
	}
}

// ApplyEnv sets every key whose NTP_OPTIMIZER_* variable is set.
func (l *Loaded) ApplyEnv(lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for i := range Keys() {
		k := &allKeys[i]
		if k.Env == "" {
			continue
		}
		v, ok := lookup(k.Env)
		if !ok {
			continue
		}
		if err := k.setText(&l.Config, v); err != nil {
			return &KeyError{Key: k.Path, Value: v, Allowed: strings.TrimPrefix(err.Error(), "want "), Where: "env " + k.Env}
		}
		l.sources[k.Path] = Source{Kind: "env", Detail: k.Env}
	}
	return nil
}

// ApplyFlags sets every key whose flag was given on the command line (on c
// or any parent command).
func (l *Loaded) ApplyFlags(c *cli.Context) error {
	set := map[string]bool{}
	for _, n := range c.FlagNames() {
		set[n] = true
	}
	for i := range Keys() {
		k := &allKeys[i]
		if k.Flag == "" || !set[k.Flag] {
			continue
		}
		var err error
		switch {
		case k.IsBool():
			err = k.set(&l.Config, c.Bool(k.Flag))
		case k.IsList():
			err = k.set(&l.Config, c.StringSlice(k.Flag))
		default:
			err = k.set(&l.Config, c.String(k.Flag))
		}
		if err != nil {
			return &KeyError{Key: k.Path, Value: c.String(k.Flag), Allowed: strings.TrimPrefix(err.Error(), "want "), Where: "flag --" + k.Flag}
		}
		l.sources[k.Path] = Source{Kind: "flag", Detail: "--" + k.Flag}
	}
	return nil
}
