package ntplab

import (
	"errors"
	"fmt"
	"os"

	"github.com/ntp-optimizer/ntp-optimizer/internal/tomlfile"
)

// Scenario is a set of server profiles with their ground truth, usually
// read from a TOML file (see testdata/lab/*.toml):
//
//	name = "demo"
//	seed = 1                  # 0: a random seed per start
//	[[server]]
//	name = "good-1"
//	truth = "good"
//	stratum = 1
//	offset = "0.3ms"
//	delay = "4ms"
//	jitter = "0.2ms"
type Scenario struct {
	Name        string    `toml:"name"`
	Description string    `toml:"description"`
	Seed        uint64    `toml:"seed"`
	Servers     []Profile `toml:"server"`
}

// ErrInvalidScenario is wrapped by scenario validation errors.
var ErrInvalidScenario = errors.New("invalid lab scenario")

// maxServers bounds the servers one scenario may start.
const maxServers = 4096

// Load reads and validates a TOML scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	sc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// Parse decodes and validates a TOML scenario. Unknown keys are errors, so
// a misspelt key cannot silently fall back to a default.
func Parse(data []byte) (*Scenario, error) {
	var f scenarioFile
	if err := tomlfile.Decode(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	sc := &Scenario{Name: f.Name, Description: f.Description, Seed: f.Seed}
	for _, p := range f.Servers {
		sc.Servers = append(sc.Servers, p.profile())
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

// scenarioFile is a Scenario as a file writes it: durations are strings
// ("5ms"), which the TOML library decodes through tomlfile.Duration.
type scenarioFile struct {
	Name        string        `toml:"name"`
	Description string        `toml:"description"`
	Seed        uint64        `toml:"seed"`
	Servers     []profileFile `toml:"server"`
}

// profileFile is a Profile with its durations in file form; the embedded
// Profile takes every other key.
type profileFile struct {
	Profile
	Offset         tomlfile.Duration `toml:"offset"`
	Delay          tomlfile.Duration `toml:"delay"`
	Jitter         tomlfile.Duration `toml:"jitter"`
	Asymmetry      tomlfile.Duration `toml:"asymmetry"`
	RefAge         tomlfile.Duration `toml:"ref_age"`
	RootDelay      tomlfile.Duration `toml:"root_delay"`
	RootDispersion tomlfile.Duration `toml:"root_dispersion"`
	RateLimit      *rateLimitFile    `toml:"ratelimit"`
}

type rateLimitFile struct {
	RateLimit
	Interval tomlfile.Duration `toml:"interval"`
}

func (f profileFile) profile() Profile {
	p := f.Profile
	p.Offset, p.Delay, p.Jitter, p.Asymmetry = f.Offset.D(), f.Delay.D(), f.Jitter.D(), f.Asymmetry.D()
	p.RefAge, p.RootDelay, p.RootDispersion = f.RefAge.D(), f.RootDelay.D(), f.RootDispersion.D()
	if f.RateLimit != nil {
		rl := f.RateLimit.RateLimit
		rl.Interval = f.RateLimit.Interval.D()
		p.RateLimit = &rl
	}
	return p
}

// Validate checks every profile and that names are unique after Count is
// expanded.
func (sc *Scenario) Validate() error {
	if len(sc.Servers) == 0 {
		return fmt.Errorf("%w: no [[server]] entries", ErrInvalidScenario)
	}
	for _, p := range sc.Servers {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	all := sc.Expand()
	if len(all) > maxServers {
		return fmt.Errorf("%w: %d servers, at most %d", ErrInvalidScenario, len(all), maxServers)
	}
	for _, p := range all {
		if seen[p.Name] {
			return fmt.Errorf("%w: server name %q is used twice", ErrInvalidScenario, p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// Expand returns one profile per server: a profile with Count n > 1
// becomes n profiles named NAME-1 ... NAME-n.
func (sc *Scenario) Expand() []Profile {
	var out []Profile
	for _, p := range sc.Servers {
		if p.Count <= 1 {
			p.Count = 0
			out = append(out, p)
			continue
		}
		n := p.Count
		for i := 1; i <= n; i++ {
			q := p
			q.Count = 0
			q.Name = fmt.Sprintf("%s-%d", p.Name, i)
			out = append(out, q)
		}
	}
	return out
}
