package discovery

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		errHas string
	}{
		{"defaults", func(*Config) {}, ""},
		{"cap zero", func(c *Config) { c.MaxCandidates = 0 }, "max_servers_to_test is 0"},
		{"cap huge", func(c *Config) { c.MaxCandidates = 5000 }, "from 1 to 1000"},
		{"pool names", func(c *Config) { c.PoolNames = 5 }, "pool names per zone is 5"},
		{"country", func(c *Config) { c.Country = "xx" }, "geographic.country \"xx\""},
		{"country ok", func(c *Config) { c.Country = "De" }, ""},
		{"bad server", func(c *Config) { c.Servers = []string{"ok.example", "bad#name"} }, "servers[1]"},
		{"bad keep", func(c *Config) { c.Keep = []string{"a b"} }, "keep[0]"},
		{"too many keep", func(c *Config) { c.MaxCandidates = 1; c.Keep = []string{"a.example", "b.example"} }, "keep has 2 servers"},
		{"empty file name", func(c *Config) { c.ServersFiles = []string{""} }, "servers_file[0] is empty"},
		{"http URL", func(c *Config) { c.RemoteListURL = "http://example.org/list" }, "only https://"},
		{"no host", func(c *Config) { c.RemoteListURL = "https:///list" }, "no host"},
		{"credentials", func(c *Config) { c.RemoteListURL = "https://u:p@example.org/list" }, "credentials"},
		{"size cap", func(c *Config) { c.RemoteMaxBytes = 0 }, "size cap"},
		{"timeout", func(c *Config) { c.RemoteTimeout = 0 }, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.True(t, errors.Is(err, ErrConfig))
			require.ErrorContains(t, err, tc.errHas)
			_, derr := (&Discoverer{}).Discover(context.Background(), cfg, nil)
			require.ErrorIs(t, derr, ErrConfig)
		})
	}
}
