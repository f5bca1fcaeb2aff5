package fallback

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Markers the agent writes into ntp.conf. Everything the agent adds sits
// between blockBegin and blockEnd; a line it disables is kept, prefixed with
// disabledPrefix, so stripping both gives back the original bytes.
const (
	blockBegin     = "# BEGIN ntp-optimizer"
	blockEnd       = "# END ntp-optimizer"
	blockNote      = "# Managed by ntp-optimizer: this block is rewritten on each run; lines it disabled start with \"" + disabledPrefix + "\"."
	disabledPrefix = "#ntp-optimizer# "
)

// maxIncludeDepth bounds includefile nesting. ntpd's own limit is 5
// (MAXINCLUDELEVEL in ntp_config.c).
const maxIncludeDepth = 5

// ErrMarkers is returned when an ntp.conf has an unbalanced or nested
// ntp-optimizer block (for example an END line deleted by hand); the agent
// then refuses to edit it rather than guess.
var ErrMarkers = errors.New("unbalanced ntp-optimizer markers")

// confFile is one file of an ntp.conf tree (the main file and the files it
// includes), with its path inside the root and its content.
type confFile struct {
	path  string // absolute path as ntpd sees it, e.g. /etc/ntpsec/ntp.conf
	data  []byte
	lines []line
}

// directive returns the keyword and first argument of an ntp.conf line.
// Comments start at '#' and keywords are case-sensitive, as in ntpd's
// lexer (ntp_scanner.c).
func directive(text string) (kw, arg string) {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	f := strings.Fields(text)
	if len(f) == 0 {
		return "", ""
	}
	kw = f[0]
	if len(f) > 1 {
		arg = f[1]
	}
	return kw, arg
}

// isSourceLine reports whether a line is a server or pool association that
// converge may disable. Reference clocks (server 127.127.t.u) are never
// touched, and peer lines are left alone.
func isSourceLine(text string) (name string, ok bool) {
	kw, arg := directive(text)
	if (kw != "server" && kw != "pool") || arg == "" {
		return "", false
	}
	if strings.HasPrefix(arg, "127.127.") {
		return "", false
	}
	return arg, true
}

// readTree reads the main file and, recursively, the files named by its
// includefile lines (relative names are taken relative to the including
// file's directory), up to maxIncludeDepth. Paths are resolved under root.
func readTree(root, mainPath string) ([]*confFile, error) {
	var files []*confFile
	seen := map[string]bool{}
	var walk func(p string, depth int) error
	walk = func(p string, depth int) error {
		if depth > maxIncludeDepth {
			return fmt.Errorf("%s: includefile nested deeper than %d levels", p, maxIncludeDepth)
		}
		real, err := resolveInRoot(root, p)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		data, err := os.ReadFile(hostPath(root, real))
		if err != nil {
			if depth > 0 && errors.Is(err, fs.ErrNotExist) {
				return nil // ntpd skips a missing include with a warning
			}
			return fmt.Errorf("read ntp configuration: %w", err)
		}
		f := &confFile{path: real, data: data, lines: splitLines(data)}
		files = append(files, f)
		for _, l := range f.lines {
			if kw, arg := directive(l.text); kw == "includefile" && arg != "" {
				inc := arg
				if !filepath.IsAbs(inc) {
					inc = filepath.Join(filepath.Dir(real), inc)
				}
				if err := walk(inc, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(mainPath, 0); err != nil {
		return nil, err
	}
	return files, nil
}

// activeSources lists the server/pool names of the tree's active lines (not
// commented out, reference clocks excluded) in file order. managed says
// which of them sit inside the ntp-optimizer block.
func activeSources(files []*confFile) (names []string, managed []bool) {
	for _, f := range files {
		in := false
		for _, l := range f.lines {
			switch strings.TrimSpace(l.text) {
			case blockBegin:
				in = true
				continue
			case blockEnd:
				in = false
				continue
			}
			if name, ok := isSourceLine(l.text); ok {
				names = append(names, name)
				managed = append(managed, in)
			}
		}
	}
	return names, managed
}
