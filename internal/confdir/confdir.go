// Package confdir lists configuration drop-in directories the way chronyd
// (confdir, chrony.conf(5)) and systemd (*.conf.d, systemd.unit(5)) read
// them: the files with a suffix, sorted by file name, the first directory
// that has a name hiding the same name in the later ones.
package confdir

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files returns the files of dirs ending in suffix, in reading order, as
// paths under the dirs given. host maps a directory to where it is read
// from (a test root); nil reads it where it is. A directory that cannot be
// read is skipped, as both daemons do.
func Files(dirs []string, suffix string, host func(string) string) []string {
	byName := map[string]string{}
	for _, d := range dirs {
		read := d
		if host != nil {
			read = host(d)
		}
		entries, err := os.ReadDir(read)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), suffix) {
				continue
			}
			if _, hidden := byName[e.Name()]; !hidden {
				byName[e.Name()] = filepath.Join(d, e.Name())
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	files := make([]string, len(names))
	for i, n := range names {
		files[i] = byName[n]
	}
	return files
}
