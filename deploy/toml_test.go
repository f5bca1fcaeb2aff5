package deploy

import (
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

func tomlDecode(s string, v any) error { return toml.Unmarshal([]byte(s), v) }

// reKeyLine matches a commented-out setting: "#key = value".
var reKeyLine = regexp.MustCompile(`^#([a-z_]+ = .*)$`)

// uncommentKeys turns every commented-out setting into a setting, leaving
// prose comments and the indented presets alone.
func uncommentKeys(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if m := reKeyLine.FindStringSubmatch(l); m != nil {
			lines[i] = m[1]
		}
	}
	return strings.Join(lines, "\n")
}
