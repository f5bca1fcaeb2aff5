package scoring

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"production preset", func(c *Config) { c.Weights = Weights{0.40, 0.35, 0.20, 0.05}; c.MinScore = 70 }, ""},
		{"sum within 1e-9", func(c *Config) { c.Latency += 5e-10 }, ""},
		{"one weight only", func(c *Config) { c.Weights = Weights{Jitter: 1} }, ""},
		{"negative weight", func(c *Config) { c.Stratum = -0.05; c.Latency = 0.40 }, "weight_stratum"},
		{"NaN weight", func(c *Config) { c.Jitter = math.NaN() }, "weight_jitter"},
		{"weights sum 1.1", func(c *Config) { c.Latency = 0.2 }, "weight_jitter + weight_reachability + weight_stratum + weight_latency"},
		{"sum off by 2e-9", func(c *Config) { c.Latency += 2e-9 }, "weight_jitter + weight_reachability + weight_stratum + weight_latency"},
		{"min_stratum 0", func(c *Config) { c.MinStratum = 0 }, "min_stratum"},
		{"max below min", func(c *Config) { c.MinStratum, c.MaxStratum = 3, 2 }, "max_stratum"},
		{"max_stratum 16", func(c *Config) { c.MaxStratum = 16 }, "max_stratum"},
		{"root distance 0", func(c *Config) { c.MaxRootDistance = 0 }, "max_root_distance"},
		{"root distance 17", func(c *Config) { c.MaxRootDistance = 17 }, "max_root_distance"},
		{"min_score 101", func(c *Config) { c.MinScore = 101 }, "min_score"},
		{"min_score NaN", func(c *Config) { c.MinScore = math.NaN() }, "min_score"},
		{"set_size 0", func(c *Config) { c.SetSize = 0 }, "set_size"},
		{"set_size 9", func(c *Config) { c.SetSize = 9 }, "set_size"},
		{"set_size 1", func(c *Config) { c.SetSize = 1 }, ""},
		{"min_set_size 0", func(c *Config) { c.MinSetSize = 0 }, "min_set_size"},
		{"hysteresis 100", func(c *Config) { c.HysteresisPercent = 100 }, "hysteresis_percent"},
		{"hysteresis -1", func(c *Config) { c.HysteresisPercent = -1 }, "hysteresis_percent"},
		{"stability 0", func(c *Config) { c.StabilityThreshold = 0 }, "stability_threshold"},
		{"max changes -1", func(c *Config) { c.MaxChangesPerRun = -1 }, "max_changes_per_run"},
		{"max changes 0", func(c *Config) { c.MaxChangesPerRun = 0 }, ""},
		{"blacklist after 0", func(c *Config) { c.BlacklistAfterRuns = 0 }, "blacklist_after_runs"},
		{"blacklist base 1s", func(c *Config) { c.BlacklistBase = time.Second }, "blacklist_base"},
		{"blacklist max below base", func(c *Config) { c.BlacklistMax = time.Hour }, "blacklist_max"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.key == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, tc.key, ce.Key)
			require.Contains(t, err.Error(), tc.key+" = ")
			require.Contains(t, err.Error(), "must be ")
		})
	}
}

func TestDecideRejectsBadConfigAndInput(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SetSize = 0
	_, _, err := Decide(Input{}, State{}, t0, cfg)
	require.ErrorIs(t, err, ErrInvalidConfig)

	a := good("192.0.2.1", "a.example")
	b := good("192.0.2.1", "b.example")
	_, _, err = Decide(Input{Measurements: []Measurement{a, b}}, State{}, t0, DefaultConfig())
	require.ErrorIs(t, err, ErrInput)
	require.ErrorContains(t, err, "192.0.2.1 appears twice")

	_, _, err = Decide(Input{Measurements: []Measurement{{Name: "x"}}}, State{}, t0, DefaultConfig())
	require.ErrorIs(t, err, ErrInput)
}
