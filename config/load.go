package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/pelletier/go-toml/v2/unstable"
)

// MaxFileBytes caps the configuration file, as discovery caps a server
// list: a configuration is a few kilobytes; anything near this is not one.
const MaxFileBytes = 1 << 20

// Source says where a key's effective value came from.
type Source struct {
	Kind   string `json:"kind"`             // "default", "file", "env" or "flag"
	Detail string `json:"detail,omitempty"` // "config.toml:12", "NTP_OPTIMIZER_SAMPLES", "--samples"
}

func (s Source) String() string {
	if s.Detail == "" {
		return s.Kind
	}
	return s.Kind + " " + s.Detail
}

// Loaded is a configuration with the origin of every value.
type Loaded struct {
	Config   Config
	File     string      // the file read, "" if none
	FileMode fs.FileMode // its permission bits (the SMTP password rule needs them)
	sources  map[string]Source
}

// Source returns where key path got its value.
func (l *Loaded) Source(path string) Source {
	if s, ok := l.sources[path]; ok {
		return s
	}
	return Source{Kind: "default"}
}

// Load starts from the defaults and applies the file at path. A missing file
// is an error only when required (the operator named it with --config).
func Load(path string, required bool) (*Loaded, error) {
	l := &Loaded{Config: Default(), sources: map[string]Source{}}
	if path == "" {
		return l, nil
	}
	data, mode, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	l.File, l.FileMode = path, mode
	if err := l.applyTOML(path, data); err != nil {
		return nil, err
	}
	return l, nil
}

// readFile reads the configuration file: a regular file (a symbolic link
// is followed) of at most MaxFileBytes. A device, FIFO, socket or directory
// is refused before anything is read from it; the file is opened
// non-blocking, so a FIFO without a writer cannot hang the loader.
func readFile(path string) ([]byte, fs.FileMode, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, 0, notRegular(path, fi.Mode())
		}
		return nil, 0, fmt.Errorf("configuration file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("configuration file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, notRegular(path, fi.Mode())
	}
	tooBig := fmt.Errorf("configuration file %s: larger than 1 MiB (%d bytes): not a configuration file", path, MaxFileBytes)
	if fi.Size() > MaxFileBytes {
		return nil, 0, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("configuration file: %w", err)
	}
	if len(data) > MaxFileBytes { // grew since the stat
		return nil, 0, tooBig
	}
	return data, fi.Mode().Perm(), nil
}

func notRegular(path string, m fs.FileMode) error {
	kind := "not a plain file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	case m&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("configuration file %s: %s, not a regular file (--config \"\" runs on the built-in defaults)", path, kind)
}

// applyTOML walks the document's key/value pairs in order and sets each.
// A key set twice, however it is written (in a [section], dotted, in an
// inline table), and a [section] opened twice are errors naming both lines:
// TOML forbids both, and the last value silently winning hides mistakes.
func (l *Loaded) applyTOML(path string, data []byte) error {
	p := &unstable.Parser{}
	p.Reset(data)
	var table []string
	seen := map[string]int{}   // dotted key -> line it was set on
	tables := map[string]int{} // [section] -> line of its header
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = keyParts(e.Key())
			if err := l.checkTable(path, p, e, table); err != nil {
				return err
			}
			name := strings.Join(table, ".")
			if first, dup := tables[name]; dup {
				return fmt.Errorf("%s:%d: duplicate section [%s] (first at line %d)", path, line(p, e), name, first)
			}
			tables[name] = line(p, e)
		case unstable.ArrayTable:
			return fmt.Errorf("%s:%d: [[%s]]: arrays of tables are not used in this file",
				path, line(p, e), strings.Join(keyParts(e.Key()), "."))
		case unstable.KeyValue:
			if err := l.applyKeyValue(path, p, e, table, seen); err != nil {
				return err
			}
		}
	}
	if err := p.Error(); err != nil {
		var perr *unstable.ParserError
		if errors.As(err, &perr) {
			return fmt.Errorf("%s:%d: %s", path, p.Shape(p.Range(perr.Highlight)).Start.Line, perr.Message)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (l *Loaded) applyKeyValue(path string, p *unstable.Parser, kv *unstable.Node, table []string, seen map[string]int) error {
	full := append(append([]string(nil), table...), keyParts(kv.Key())...)
	dotted := strings.Join(full, ".")
	ln := line(p, kv)
	v := kv.Value()
	if v.Kind == unstable.InlineTable {
		it := v.Children()
		for it.Next() {
			if err := l.applyKeyValue(path, p, it.Node(), full, seen); err != nil {
				return err
			}
		}
		return nil
	}
	if first, dup := seen[dotted]; dup {
		return fmt.Errorf("%s:%d: duplicate key %q (first set at line %d)", path, ln, dotted, first)
	}
	seen[dotted] = ln
	k, ok := Lookup(dotted)
	if !ok {
		return fmt.Errorf("%s:%d: unknown key %q; %s", path, ln, dotted, allowedIn(sectionOf(full)))
	}
	val, err := nodeValue(v)
	if err == nil {
		err = k.set(&l.Config, val)
	}
	if err != nil {
		return fmt.Errorf("%s:%d: %s: %w", path, ln, dotted, err)
	}
	l.sources[k.Path] = Source{Kind: "file", Detail: path + ":" + strconv.Itoa(ln)}
	if v.Kind == unstable.Array {
		// Each item of a list remembers its own line, for the errors
		// about one item ("servers[2]") of a list written over lines.
		it, i := v.Children(), 0
		for it.Next() {
			if n := it.Node(); n.Raw.Length > 0 {
				l.sources[k.Path+"["+strconv.Itoa(i)+"]"] = Source{Kind: "file",
					Detail: path + ":" + strconv.Itoa(p.Shape(n.Raw).Start.Line)}
			}
			i++
		}
	}
	return nil
}

// checkTable rejects a [section] that holds no keys.
func (l *Loaded) checkTable(path string, p *unstable.Parser, e *unstable.Node, table []string) error {
	name := strings.Join(table, ".")
	for _, k := range Keys() {
		if strings.HasPrefix(k.Path, name+".") {
			return nil
		}
	}
	return fmt.Errorf("%s:%d: unknown section [%s]; sections are %s", path, line(p, e), name, strings.Join(sections(), ", "))
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

func line(p *unstable.Parser, n *unstable.Node) int {
	r := n.Raw
	if r.Length == 0 {
		if k := n.Key(); k.Next() {
			r = k.Node().Raw
		}
	}
	return p.Shape(r).Start.Line
}

// nodeValue turns a TOML value node into a Go value for Key.set.
func nodeValue(n *unstable.Node) (any, error) {
	switch n.Kind {
	case unstable.String:
		return string(n.Data), nil
	case unstable.Bool:
		return string(n.Data) == "true", nil
	case unstable.Integer:
		s := strings.ReplaceAll(string(n.Data), "_", "")
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s out of range", n.Data)
		}
		return i, nil
	case unstable.Float:
		s := strings.ReplaceAll(string(n.Data), "_", "")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s", n.Data)
		}
		return f, nil
	case unstable.Array:
		var items []any
		it := n.Children()
		for it.Next() {
			v, err := nodeValue(it.Node())
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	}
	return nil, fmt.Errorf("unsupported value type %s", n.Kind)
}

func sectionOf(full []string) string {
	return strings.Join(full[:len(full)-1], ".")
}

// allowedIn lists the keys of a section for an "unknown key" error.
func allowedIn(section string) string {
	var names []string
	for _, k := range Keys() {
		if k.Section == section {
			names = append(names, strings.TrimPrefix(k.Path, section+"."))
		}
	}
	if len(names) == 0 {
		return "sections are " + strings.Join(sections(), ", ")
	}
	where := "at the top level"
	if section != "" {
		where = "in [" + section + "]"
	}
	return "keys " + where + " are " + strings.Join(names, ", ")
}

func sections() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Keys() {
		if k.Section != "" && !seen[k.Section] {
			seen[k.Section] = true
			out = append(out, "["+k.Section+"]")
		}
	}
	sort.Strings(out)
	return out
}
