package config

import (
	"fmt"
	"io"
	"strings"
)

// Entry is one key of the effective configuration, for `config show --json`.
type Entry struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source Source `json:"source"`
}

// Entries lists every key with its effective value and origin. The SMTP
// password is never shown.
func (l *Loaded) Entries() []Entry {
	var out []Entry
	for i := range Keys() {
		k := &allKeys[i]
		v := k.Value(&l.Config)
		if k.Path == "notifications.email.password" && l.Config.Notifications.Email.Password != "" {
			v = "(set)"
		}
		out = append(out, Entry{Key: k.Path, Value: v, Source: l.Source(k.Path)})
	}
	return out
}

// Show writes the effective configuration as a TOML file, each value
// followed by a comment saying where it came from. The output is itself a
// valid configuration file.
func (l *Loaded) Show(w io.Writer) error {
	section := ""
	width := 0
	for _, k := range Keys() {
		if n := len(k.Path) - len(k.Section); n > width {
			width = n
		}
	}
	for i := range Keys() {
		k := &allKeys[i]
		if k.Section != section {
			section = k.Section
			if _, err := fmt.Fprintf(w, "\n[%s]\n", section); err != nil {
				return err
			}
		}
		value := k.Format(&l.Config)
		if k.Path == "notifications.email.password" && l.Config.Notifications.Email.Password != "" {
			value = `"(set, not shown)"`
		}
		if k.typ == durationType {
			value = `"` + value + `"`
		}
		name := strings.TrimPrefix(k.Path, k.Section+".")
		line := fmt.Sprintf("%s = %s", name, value)
		if _, err := fmt.Fprintf(w, "%-*s # %s\n", width+24, line, l.Source(k.Path)); err != nil {
			return err
		}
	}
	return nil
}
