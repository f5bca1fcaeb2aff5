// Package tomlfile decodes the TOML files ntp-optimizer reads besides its
// configuration (the server catalog, remote lists, lab scenarios) with the
// one TOML library of the tree (pelletier/go-toml/v2; the configuration's
// loader walks the same library's parser for line numbers): strictly, so
// a misspelt key is an error instead of a silent default.
package tomlfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Decode decodes data into v. A key v has no field for is an error naming
// it ("unknown key \"server.colour\""; several: "unknown keys ...").
func Decode(data []byte, v any) error {
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(v)
	var sme *toml.StrictMissingError
	if errors.As(err, &sme) {
		keys := make([]string, len(sme.Errors))
		for i, e := range sme.Errors {
			keys[i] = fmt.Sprintf("%q", strings.Join(e.Key(), "."))
		}
		if len(keys) == 1 {
			return fmt.Errorf("unknown key %s", keys[0])
		}
		return fmt.Errorf("unknown keys %s", strings.Join(keys, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return fmt.Errorf("line %d: %w", row, de)
	}
	return err
}

// Duration is a time.Duration written as a Go duration string ("5ms").
type Duration time.Duration

// UnmarshalText parses "5ms", "1.5s", "-2ms".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
