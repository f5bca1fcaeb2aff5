package chronylive

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSourcesFileWriteRestore(t *testing.T) {
	f := SourcesFile{Path: filepath.Join(t.TempDir(), "sources.d", SourcesFileName)}
	prev, err := f.Read()
	require.NoError(t, err)
	require.Nil(t, prev)

	require.NoError(t, f.Write([]SourceLine{
		{Address: "127.0.0.12", Options: "iburst"},
		{Address: "time.example.org", Options: "iburst minpoll -1 maxpoll 0"},
		{Address: "::1", Port: 10123},
	}))
	got, err := os.ReadFile(f.Path)
	require.NoError(t, err)
	require.Equal(t, sourcesFileHeader+
		"server 127.0.0.12 iburst\n"+
		"server time.example.org iburst minpoll -1 maxpoll 0\n"+
		"server ::1 port 10123\n", string(got))

	require.NoError(t, f.Restore(prev))
	_, err = os.Stat(f.Path)
	require.True(t, os.IsNotExist(err), "restoring 'absent' removes the file")
}

func TestSourcesFileRejectsInjection(t *testing.T) {
	f := SourcesFile{Path: filepath.Join(t.TempDir(), SourcesFileName)}
	require.NoError(t, f.Write([]SourceLine{{Address: "127.0.0.1", Options: "iburst"}}))
	before, _ := os.ReadFile(f.Path)
	for _, bad := range []SourceLine{
		{Address: "a.example\nallow all"},
		{Address: "a.example#"},
		{Address: "127.0.0.1", Options: "iburst\nallow all"},
		{Address: "127.0.0.1", Options: "iburst # x"},
		{Address: "127.0.0.1", Options: "bogus"},
		{Address: "127.0.0.1", Options: "minpoll"},
		{Address: "127.0.0.1", Options: "minpoll ;rm"},
	} {
		require.Error(t, f.Write([]SourceLine{bad}), "%q", bad)
	}
	after, _ := os.ReadFile(f.Path)
	require.Equal(t, before, after, "file untouched by rejected writes")
}

func TestSourcesFileUnchangedNotRewritten(t *testing.T) {
	f := SourcesFile{Path: filepath.Join(t.TempDir(), SourcesFileName)}
	lines := []SourceLine{{Address: "192.0.2.1", Options: "iburst"}}
	require.NoError(t, f.Write(lines))
	before, err := os.Stat(f.Path)
	require.NoError(t, err)
	require.NoError(t, f.Write(lines))
	after, err := os.Stat(f.Path)
	require.NoError(t, err)
	require.True(t, os.SameFile(before, after), "an identical write keeps the file (no rename)")
}
