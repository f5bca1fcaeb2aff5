package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/config"
)

// configKey is the cli.App metadata key holding the loaded configuration.
const configKey = "config"

func globalFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{
			Name:    "config",
			Aliases: []string{"c"},
			Value:   config.DefaultPath,
			Usage:   "configuration file (a missing file at the default path is fine) ($NTP_OPTIMIZER_CONFIG)",
		},
	}, config.Flags("logging")...)
}

// setup runs before any command: it loads the configuration file, the
// NTP_OPTIMIZER_* variables and the global flags, and builds the logger.
func setup(c *cli.Context) error {
	path, explicit := c.String("config"), c.IsSet("config")
	if env, ok := os.LookupEnv("NTP_OPTIMIZER_CONFIG"); ok && !explicit {
		path, explicit = env, true
	}
	l, err := config.Load(path, explicit)
	if err != nil {
		return usageError(err)
	}
	if err := l.ApplyEnv(nil); err != nil {
		return usageError(err)
	}
	if err := l.ApplyFlags(c); err != nil {
		return usageError(err)
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	if err := setupLogger(c, l.Config.Logging); err != nil {
		return err
	}
	c.App.Metadata[configKey] = l
	return nil
}

// loadConfig returns the effective configuration for the running command:
// what setup loaded, with the command's own flags applied on top, validated.
// A bad value is a usage error naming the key, its origin and what is allowed.
func loadConfig(c *cli.Context) (*config.Loaded, error) {
	l, ok := c.App.Metadata[configKey].(*config.Loaded)
	if !ok {
		var err error
		if l, err = config.Load("", false); err != nil {
			return nil, usageError(err)
		}
	}
	if err := l.ApplyFlags(c); err != nil {
		return nil, usageError(err)
	}
	if err := l.Validate(); err != nil {
		return nil, usageError(err)
	}
	return l, nil
}
