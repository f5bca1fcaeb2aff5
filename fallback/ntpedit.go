package fallback

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// stripLines removes everything an earlier run added to one file: the
// ntp-optimizer block is deleted and the lines it disabled get their
// original text back. The result is the file as it was before the agent
// first touched it, byte for byte.
func stripLines(path string, ls []line) ([]line, error) {
	out := make([]line, 0, len(ls))
	begin := -1
	for i, l := range ls {
		switch strings.TrimSpace(l.text) {
		case blockBegin:
			if begin >= 0 {
				return nil, fmt.Errorf("%s:%d: %w: a second %q before %q", path, i+1, ErrMarkers, blockBegin, blockEnd)
			}
			begin = i
			continue
		case blockEnd:
			if begin < 0 {
				return nil, fmt.Errorf("%s:%d: %w: %q without %q", path, i+1, ErrMarkers, blockEnd, blockBegin)
			}
			// Rebuild the block's span on out so removeLines can undo the
			// final-newline move insertLines made.
			span := append(out, ls[begin:i+1]...)
			out = removeLines(span, len(out), len(span))
			begin = -1
			continue
		}
		if begin >= 0 {
			continue
		}
		l.text = strings.TrimPrefix(l.text, disabledPrefix)
		out = append(out, l)
	}
	if begin >= 0 {
		return nil, fmt.Errorf("%s:%d: %w: %q without %q", path, begin+1, ErrMarkers, blockBegin, blockEnd)
	}
	return out, nil
}

// ntpEdit computes the new content of every file of the tree for the
// selected servers: from each file's pristine form (stripLines), it
// disables the other server/pool lines under daemon.PolicyConverge and inserts the
// block into the main file (files[0]) before its first active server/pool
// line, or at its end. Files whose content does not change are left out.
// Because it always starts from the pristine form, applying the same
// selection twice gives the same bytes, and a revert is stripLines alone.
//
// A server marked NTS on a classic ntpd (nothing shows NTPsec) is refused
// with ErrNoNTS unless allowPlain, which writes it plain and says so.
func ntpEdit(files []*confFile, servers []Server, policy daemon.Policy, allowPlain bool) (map[string][]byte, []string, error) {
	pristine := make([][]line, len(files))
	for i, f := range files {
		p, err := stripLines(f.path, f.lines)
		if err != nil {
			return nil, nil, err
		}
		pristine[i] = p
	}
	nts := ntsLines(pristine) // the servers configured, true for those with NTPsec's nts option
	var warnings []string
	var block, plain []string
	for _, s := range servers {
		if _, existing := nts[s.Name]; existing && policy == daemon.PolicyAddOnly {
			continue // already configured by someone else: no duplicate association
		}
		line := "server " + s.Name + " iburst"
		switch {
		case nts[s.Name]:
			line += " nts" // the operator's line had it: the server keeps its authentication
		case s.NTS && isNTPsec(files, nts):
			line += " nts"
		case s.NTS:
			plain = append(plain, fmt.Sprintf("%s (%s)", s.Name, originOf(s)))
		}
		block = append(block, line)
	}
	if len(plain) > 0 {
		list := strings.Join(plain, ", ")
		if !allowPlain {
			return nil, nil, fmt.Errorf("%s: selected with NTS: %s, but nothing shows this ntpd is NTPsec "+
				"(no nts server line, not under /etc/ntpsec) and classic ntpd has no NTS: %w", files[0].path, list, ErrNoNTS)
		}
		warnings = append(warnings, fmt.Sprintf("%s: %s listed with nts, but nothing shows this ntpd is NTPsec "+
			"(no nts server line, not under /etc/ntpsec): written without nts, unauthenticated (selection.authentication = off)",
			files[0].path, list))
	}
	out := map[string][]byte{}
	for i, f := range files {
		ls := pristine[i]
		first := -1
		edited := make([]line, len(ls))
		copy(edited, ls)
		for j, l := range edited {
			name, ok := isSourceLine(l.text)
			if !ok {
				continue
			}
			if first < 0 {
				first = j
			}
			if policy == daemon.PolicyConverge {
				edited[j].text = disabledPrefix + l.text
			} else if kw, _ := directive(l.text); kw == "pool" {
				warnings = append(warnings, poolWarning(f.path, name, pristine))
			}
		}
		if i == 0 && len(block) > 0 {
			at := len(edited)
			if first >= 0 {
				at = first
			}
			lines := append([]string{blockBegin, blockNote}, block...)
			edited = insertLines(edited, at, append(lines, blockEnd))
		}
		if nb := joinLines(edited); string(nb) != string(f.data) {
			out[f.path] = nb
		}
	}
	return out, compact(warnings), nil
}

// hasNTS says whether an ntp.conf server line has NTPsec's `nts` option
// (ntp.conf(5) of NTPsec: "server ADDRESS nts"; classic ntpd has none).
func hasNTS(text string) bool {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	f := strings.Fields(text)
	return len(f) > 2 && slices.Contains(f[2:], "nts")
}

// ntsLines maps the names of the server and pool lines in pristine to
// whether their line has NTPsec's nts option.
func ntsLines(pristine [][]line) map[string]bool {
	nts := map[string]bool{}
	for _, ls := range pristine {
		for _, l := range ls {
			if name, ok := isSourceLine(l.text); ok {
				nts[name] = nts[name] || hasNTS(l.text)
			}
		}
	}
	return nts
}

// isNTPsec says whether the configuration is NTPsec's: a server line uses
// nts (classic ntpd rejects it), or the main file is under /etc/ntpsec.
// Writing nts for classic ntpd would break its configuration.
func isNTPsec(files []*confFile, nts map[string]bool) bool {
	for _, v := range nts {
		if v {
			return true
		}
	}
	return len(files) > 0 && strings.Contains(filepath.ToSlash(files[0].path), "/ntpsec/")
}

// poolWarning returns a warning when a pool line that stays active
// (add-only) would not work: ntpd only mobilizes pool servers when a
// restrict line without nopeer covers them ("restrict source ..." or a
// default without nopeer). It returns "" when that is fine.
func poolWarning(path, name string, pristine [][]line) string {
	defaultNopeer, source := false, false
	for _, ls := range pristine {
		for _, l := range ls {
			kw, arg := directive(l.text)
			if kw != "restrict" {
				continue
			}
			f := strings.Fields(strings.SplitN(l.text, "#", 2)[0])
			target := arg
			if target == "-4" || target == "-6" {
				if len(f) > 2 {
					target = f[2]
				}
			}
			switch target {
			case "source":
				source = true
			case "default":
				for _, o := range f {
					if o == "nopeer" {
						defaultNopeer = true
					}
				}
			}
		}
	}
	if defaultNopeer && !source {
		return fmt.Sprintf("%s: pool %s stays active, but \"restrict default ... nopeer\" without a \"restrict source\" line stops classic ntpd (4.2.x) from mobilizing pool servers (NTPsec ignores nopeer)", path, name)
	}
	return ""
}

func compact(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ntpStrip returns the pristine content of every file of the tree that
// carries ntp-optimizer edits (the revert).
func ntpStrip(files []*confFile) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range files {
		p, err := stripLines(f.path, f.lines)
		if err != nil {
			return nil, err
		}
		if nb := joinLines(p); string(nb) != string(f.data) {
			out[f.path] = nb
		}
	}
	return out, nil
}
