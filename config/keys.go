package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "NTP_OPTIMIZER_"

// Key describes one configuration key.
type Key struct {
	Path    string // "selection.weight_jitter"
	Flag    string // "weight-jitter"; empty when the key has no flag
	Env     string // "NTP_OPTIMIZER_WEIGHT_JITTER"; empty when it has no flag
	Usage   string
	Section string // "selection"; "" for top-level keys
	unit    time.Duration
	index   []int
	typ     reflect.Type
}

var durationType = reflect.TypeOf(Duration(0))

var (
	keysOnce sync.Once
	allKeys  []Key
	byPath   map[string]*Key
)

// Keys returns every key, in the order the Config struct declares them.
func Keys() []Key {
	keysOnce.Do(func() {
		collect(reflect.TypeOf(Config{}), "", "", nil)
		byPath = make(map[string]*Key, len(allKeys))
		for i := range allKeys {
			byPath[allKeys[i].Path] = &allKeys[i]
		}
	})
	return allKeys
}

// Lookup returns the key with the given dotted path.
func Lookup(path string) (*Key, bool) {
	Keys()
	k, ok := byPath[path]
	return k, ok
}

func collect(t reflect.Type, prefix, section string, index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			collect(f.Type, path, path, idx)
			continue
		}
		k := Key{Path: path, Usage: f.Tag.Get("usage"), Section: section, index: idx, typ: f.Type}
		if flag := f.Tag.Get("flag"); flag != "-" && flag != "" {
			k.Flag = flag
			k.Env = EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
		}
		switch f.Tag.Get("unit") {
		case "h":
			k.unit = time.Hour
		case "ms":
			k.unit = time.Millisecond
		default:
			k.unit = time.Second
		}
		allKeys = append(allKeys, k)
	}
}

// IsList reports whether the key holds a list of strings.
func (k *Key) IsList() bool { return k.typ.Kind() == reflect.Slice }

// IsBool reports whether the key is a boolean.
func (k *Key) IsBool() bool { return k.typ.Kind() == reflect.Bool }

// TypeName is the key's type for error messages.
func (k *Key) TypeName() string {
	switch {
	case k.typ == durationType:
		return "a duration (e.g. \"90s\", \"6h\") or a number of " + unitName(k.unit)
	case k.IsList():
		return "a list of strings"
	}
	switch k.typ.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return "a string"
}

func (k *Key) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

// Value returns the key's value in c.
func (k *Key) Value(c *Config) any { return k.field(c).Interface() }

// Format renders the key's value in c the way `config show` prints it.
func (k *Key) Format(c *Config) string {
	v := k.field(c)
	if k.IsList() {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = strconv.Quote(v.Index(i).String())
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	if v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// setText sets the key from text (an environment variable or a flag). A
// list takes comma-separated items; each call replaces the whole list.
func (k *Key) setText(c *Config, s string) error {
	if k.IsList() {
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return k.set(c, items)
	}
	return k.set(c, s)
}

// set assigns v (a string, int64, float64, bool or []string/[]any as a TOML
// decoder or the text parser gives them) to the key in c, converting where
// the meaning is unambiguous. The error says what type was wanted.
func (k *Key) set(c *Config, v any) error {
	set := setters[k.typ.Kind()]
	if k.typ == durationType {
		set = k.setDuration
	}
	if set == nil {
		return fmt.Errorf("key %s has an unsupported type %s", k.Path, k.typ)
	}
	ok, err := set(k.field(c), v)
	if err == nil && !ok {
		err = fmt.Errorf("want %s", k.TypeName())
	}
	return err
}

// A setter assigns v to f; ok is false when v has a type it cannot take.
type setter func(f reflect.Value, v any) (ok bool, err error)

// setters are the setters of each kind of key but durations.
var setters = map[reflect.Kind]setter{
	reflect.String:  setString,
	reflect.Bool:    setBool,
	reflect.Int:     setInt,
	reflect.Float64: setFloat,
	reflect.Slice:   setList,
}

// setDuration takes a duration string, or a number in the key's unit.
func (k *Key) setDuration(f reflect.Value, v any) (bool, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return false, nil
	}
	d, err := parseDuration(strings.TrimSpace(s), k.unit)
	if err != nil {
		return false, err
	}
	f.SetInt(int64(d))
	return true, nil
}

func setString(f reflect.Value, v any) (bool, error) {
	s, ok := v.(string)
	if ok {
		f.SetString(s)
	}
	return ok, nil
}

func setBool(f reflect.Value, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		f.SetBool(x)
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, nil
		}
		f.SetBool(b)
	default:
		return false, nil
	}
	return true, nil
}

func setInt(f reflect.Value, v any) (bool, error) {
	switch x := v.(type) {
	case int64:
		f.SetInt(x)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return false, nil
		}
		f.SetInt(int64(n))
	default:
		return false, nil
	}
	return true, nil
}

func setFloat(f reflect.Value, v any) (bool, error) {
	switch x := v.(type) {
	case float64:
		f.SetFloat(x)
	case int64:
		f.SetFloat(float64(x))
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return false, nil
		}
		f.SetFloat(n)
	default:
		return false, nil
	}
	return true, nil
}

// setList takes a list of strings, or one string as a list of one.
func setList(f reflect.Value, v any) (bool, error) {
	var items []string
	switch x := v.(type) {
	case []string:
		items = x
	case []any:
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return false, nil
			}
			items = append(items, s)
		}
	case string:
		items = []string{x}
	default:
		return false, nil
	}
	f.Set(reflect.ValueOf(items))
	return true, nil
}
