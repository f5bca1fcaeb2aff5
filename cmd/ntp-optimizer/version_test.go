package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteVersion(t *testing.T) {
	goLine := "go:          " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	stamp := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "-tags", Value: "urfave_cli_no_docs"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "f3f43afc59dd59701000292a5510a229ff324589"},
			{Key: "vcs.time", Value: "2026-12-01T13:52:23Z"},
			{Key: "vcs.modified", Value: modified},
		}}
	}
	for _, tc := range []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    []string
	}{
		{
			name: "release build from a clean tree", version: "v1.0.0", bi: stamp("false"),
			want: []string{"ntp-optimizer v1.0.0", "commit:      f3f43afc59dd59701000292a5510a229ff324589", "commit date: 2026-12-01T13:52:23Z", goLine},
		},
		{
			name: "uncommitted changes", version: "f3f43af-dirty", bi: stamp("true"),
			want: []string{"ntp-optimizer f3f43af-dirty", "commit:      f3f43afc59dd59701000292a5510a229ff324589 (with uncommitted changes)", "commit date: 2026-12-01T13:52:23Z", goLine},
		},
		{
			name: "no VCS stamp (-buildvcs=false, a source tarball)", version: "dev", bi: &debug.BuildInfo{},
			want: []string{"ntp-optimizer dev", "commit:      unknown (built without VCS information)", "commit date: unknown", goLine},
		},
		{
			name: "no build information", version: "dev",
			want: []string{"ntp-optimizer dev", "commit:      unknown (built without VCS information)", "commit date: unknown", goLine},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			writeVersion(&b, tc.version, tc.bi)
			require.Equal(t, strings.Join(tc.want, "\n")+"\n", b.String())
		})
	}
}

func TestVersionCommand(t *testing.T) {
	out, errOut, code := runApp(t, "version")
	require.Zero(t, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Equal(t, "ntp-optimizer "+version, lines[0])
	require.True(t, strings.HasPrefix(lines[1], "commit: "), out)
	require.True(t, strings.HasPrefix(lines[2], "commit date: "), out)
	require.Contains(t, lines[3], runtime.Version())
}
