package chronyctl

import (
	"fmt"
	"strings"
)

// Mode is a source's mode (candm.h RPY_SD_MD_*).
type Mode uint16

// Source modes.
const (
	ModeServer   Mode = 0 // client mode to a server: '^'
	ModePeer     Mode = 1 // symmetric peer: '='
	ModeRefclock Mode = 2 // reference clock: '#'
)

var modeNames = [...]string{"server", "peer", "refclock"}

// String returns "server", "peer", "refclock", or "mode(N)".
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint16(m))
}

// Char returns chronyc's mode column: '^', '=', '#', or ' ' if unknown.
func (m Mode) Char() byte {
	if int(m) < 3 {
		return "^=#"[m]
	}
	return ' '
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := parseName(b, modeNames[:], "mode")
	*m = Mode(v)
	return err
}

// State is a source's selection state (candm.h RPY_SD_ST_*).
type State uint16

// Source states, with chronyc's characters.
const (
	StateSelected    State = 0 // '*' the current best source
	StateUnusable    State = 1 // '?' not selectable (unreachable, too few samples, ...)
	StateFalseticker State = 2 // 'x' may be in error
	StateJittery     State = 3 // '~' too variable
	StateCombined    State = 4 // '+' combined with the selected source
	StateNotCombined State = 5 // '-' selectable but not combined
)

var stateNames = [...]string{"selected", "unusable", "falseticker", "jittery", "combined", "not_combined"}

// String returns the state's name, e.g. "selected", or "state(N)".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint16(s))
}

// Char returns chronyc's state column: '*', '?', 'x', '~', '+', '-', or
// ' ' if unknown.
func (s State) Char() byte {
	if int(s) < 6 {
		return "*?x~+-"[s]
	}
	return ' '
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	v, err := parseName(b, stateNames[:], "state")
	*s = State(v)
	return err
}

// parseName finds text in names, or parses "kind(N)".
func parseName(b []byte, names []string, kind string) (uint16, error) {
	text := string(b)
	for i, n := range names {
		if n == text {
			return uint16(i), nil
		}
	}
	var v uint16
	if _, err := fmt.Sscanf(text, kind+"(%d)", &v); err != nil {
		return 0, fmt.Errorf("unknown %s %q", kind, text)
	}
	return v, nil
}

// SelectOptions are a source's selection options as SELECT_DATA reports
// them and MODIFY_SELECTOPTS's mask takes them (chronyd's SRC_SELECT_*
// bits).
type SelectOptions uint16

// Selection options.
const (
	SelectNoSelect SelectOptions = 0x1
	SelectPrefer   SelectOptions = 0x2
	SelectTrust    SelectOptions = 0x4
	SelectRequire  SelectOptions = 0x8
)

var selectNames = []struct {
	opt  SelectOptions
	name string
}{{SelectNoSelect, "noselect"}, {SelectPrefer, "prefer"}, {SelectTrust, "trust"}, {SelectRequire, "require"}}

// String lists the options as in chrony.conf, e.g. "prefer,trust" ("" for
// none).
func (o SelectOptions) String() string {
	var parts []string
	for _, n := range selectNames {
		if o&n.opt != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := o &^ (SelectNoSelect | SelectPrefer | SelectTrust | SelectRequire); rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint16(rest)))
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler.
func (o SelectOptions) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *SelectOptions) UnmarshalText(b []byte) error {
	*o = 0
	for _, part := range strings.Split(string(b), ",") {
		if part == "" {
			continue
		}
		found := false
		for _, n := range selectNames {
			if n.name == part {
				*o |= n.opt
				found = true
			}
		}
		var v uint16
		if !found {
			if _, err := fmt.Sscanf(part, "0x%x", &v); err != nil {
				return fmt.Errorf("unknown selection option %q", part)
			}
			*o |= SelectOptions(v)
		}
	}
	return nil
}

// addSourceFlags converts selection options to ADD_SOURCE flag bits, which
// MODIFY_SELECTOPTS uses for its options word (see selectopts.go).
func (o SelectOptions) addSourceFlags() uint32 {
	var f uint32
	if o&SelectPrefer != 0 {
		f |= FlagPrefer
	}
	if o&SelectNoSelect != 0 {
		f |= FlagNoSelect
	}
	if o&SelectTrust != 0 {
		f |= FlagTrust
	}
	if o&SelectRequire != 0 {
		f |= FlagRequire
	}
	return f
}

// LeapStatus is the leap indicator chronyd reports in tracking.
type LeapStatus uint16

// Leap statuses.
const (
	LeapNormal          LeapStatus = 0
	LeapInsertSecond    LeapStatus = 1
	LeapDeleteSecond    LeapStatus = 2
	LeapNotSynchronised LeapStatus = 3
)

// String returns chronyc's text: "Normal", "Insert second", "Delete
// second", "Not synchronised" or "Invalid".
func (l LeapStatus) String() string {
	switch l {
	case LeapNormal:
		return "Normal"
	case LeapInsertSecond:
		return "Insert second"
	case LeapDeleteSecond:
		return "Delete second"
	case LeapNotSynchronised:
		return "Not synchronised"
	}
	return "Invalid"
}

// MarshalText implements encoding.TextMarshaler (snake_case names).
func (l LeapStatus) MarshalText() ([]byte, error) {
	return []byte(strings.ReplaceAll(strings.ToLower(l.String()), " ", "_")), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *LeapStatus) UnmarshalText(b []byte) error {
	for v := LeapNormal; v <= LeapNotSynchronised; v++ {
		if t, _ := v.MarshalText(); string(t) == string(b) {
			*l = v
			return nil
		}
	}
	*l = 4 // "invalid"
	if string(b) != "invalid" {
		return fmt.Errorf("unknown leap status %q", b)
	}
	return nil
}
