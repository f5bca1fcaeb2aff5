package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// schemaBase is the $id prefix of docs/schemas/*.schema.json.
const schemaBase = "https://ntp-optimizer.org/schemas/"

var (
	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

// loadSchemas compiles every docs/schemas/*.schema.json, by name ("probe").
func loadSchemas() (map[string]*jsonschema.Schema, error) {
	schemasOnce.Do(func() {
		files, err := filepath.Glob("../../docs/schemas/*.schema.json")
		if err != nil || len(files) == 0 {
			schemasErr = fmt.Errorf("no schemas in docs/schemas: %v", err)
			return
		}
		c := jsonschema.NewCompiler()
		for _, f := range files {
			r, err := os.Open(f)
			if err != nil {
				schemasErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(r)
			r.Close()
			if err != nil {
				schemasErr = fmt.Errorf("%s: %w", f, err)
				return
			}
			if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
				schemasErr = err
				return
			}
		}
		schemas = map[string]*jsonschema.Schema{}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".schema.json")
			if schemas[name], schemasErr = c.Compile(schemaBase + filepath.Base(f)); schemasErr != nil {
				return
			}
		}
	})
	return schemas, schemasErr
}

// checkSchema validates a --json document against docs/schemas/NAME.schema.json.
func checkSchema(t testing.TB, name, out string) {
	t.Helper()
	all, err := loadSchemas()
	require.NoError(t, err)
	sch, ok := all[name]
	require.True(t, ok, "no schema %s", name)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	require.NoError(t, err, out)
	require.NoError(t, sch.Validate(inst), "%s --json against docs/schemas/%s.schema.json:\n%s", name, name, out)
}

// jsonList decodes the list under key of a --json document into v, after
// checking it against the command's schema and that its first key is
// schema_version.
func jsonList(t testing.TB, out, schema, key string, v any) {
	t.Helper()
	checkSchema(t, schema, out)
	require.True(t, strings.HasPrefix(out, "{\n  \"schema_version\": 1"), "schema_version first: %.60s", out)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.JSONEq(t, "1", string(doc["schema_version"]), "schema_version")
	require.Contains(t, doc, key, out)
	require.NoError(t, json.Unmarshal(doc[key], v), out)
}

// TestWriteJSONSchemaVersion: every document starts with schema_version;
// an empty object gets it alone; a list is refused (a programming error).
func TestWriteJSONSchemaVersion(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, struct {
		A int `json:"a"`
	}{2}))
	require.Equal(t, "{\n  \"schema_version\": 1,\n  \"a\": 2\n}\n", b.String())
	b.Reset()
	require.NoError(t, writeJSON(&b, struct{}{}))
	require.Equal(t, "{\n  \"schema_version\": 1\n}\n", b.String())
	require.ErrorContains(t, writeJSON(&b, []int{1}), "must be an object")
}

// TestConfigShowJSONSchema: config show --json is a keys document.
func TestConfigShowJSONSchema(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(conf, []byte("[selection]\nset_size = 3\n"), 0o600))
	out, stderr, code := runApp(t, "--config", conf, "config", "show", "--json")
	require.Zero(t, code, stderr)
	var keys []map[string]any
	jsonList(t, out, "config", "keys", &keys)
	require.NotEmpty(t, keys)
}
