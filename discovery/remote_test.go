package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// remoteLab is an HTTPS server whose answer a test sets, and a Discoverer
// that trusts it, with a fixed clock.
type remoteLab struct {
	srv    *httptest.Server
	d      *Discoverer
	cfg    Config
	mu     sync.Mutex // the handler runs on the server's goroutines
	status int
	body   string
	delay  time.Duration
}

// set changes the answer under the lock.
func (l *remoteLab) set(f func(l *remoteLab)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

func newRemoteLab(t *testing.T) *remoteLab {
	t.Helper()
	l := &remoteLab{status: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		status, body, delay := l.status, l.body, l.delay
		l.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/list", http.StatusFound)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/list", http.StatusFound)
	})
	l.srv = httptest.NewUnstartedServer(mux)
	l.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the bad-certificate case is expected
	l.srv.StartTLS()
	t.Cleanup(l.srv.Close)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	l.d = newDiscoverer(t, "Europe/Berlin")
	l.d.Client = l.srv.Client()
	l.d.Clock = clocktest.NewStepper(now)
	l.cfg = DefaultConfig()
	l.cfg.MaxCandidates = 1000
	l.cfg.RemoteListURL = l.srv.URL + "/list"
	l.cfg.RemoteTimeout = 2 * time.Second
	return l
}

func (l *remoteLab) discover(t *testing.T) Result {
	t.Helper()
	res, err := l.d.Discover(context.Background(), l.cfg, nil)
	require.NoError(t, err)
	return res
}

// catalogNames are the catalog servers of a result (origin catalog or remote).
func catalogNames(res Result) []string {
	var out []string
	for _, c := range res.Candidates {
		if c.Origin == OriginCatalog || strings.HasPrefix(c.Origin, OriginRemote+":") {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestRemotePlainList(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) { l.body = "# fleet list\nntp1.corp.example\ntime.nist.gov\n[2001:db8::123]:4123\n" })
	res := l.discover(t)
	require.Empty(t, res.Warnings)
	// Unknown places rank as "anywhere", before a server known to be on
	// another continent (NIST, seen from Berlin).
	require.Equal(t, []string{"ntp1.corp.example", "2001:db8::123", "time.nist.gov"}, catalogNames(res))
	c := res.Candidates[index(res, "time.nist.gov")]
	require.Equal(t, OriginRemote+":"+l.cfg.RemoteListURL, c.Origin)
	require.Equal(t, 4*time.Second, c.MinSpacing, "catalog facts apply to remote names")
	require.Equal(t, 4123, res.Candidates[index(res, "2001:db8::123")].Port)
	require.Equal(t, -1, index(res, "ptbtime1.ptb.de"), "the remote list replaces the embedded catalog")
	require.NotEqual(t, -1, index(res, "2.de.pool.ntp.org"), "pool zones stay")

	var cached remoteCache
	data, err := os.ReadFile(filepath.Join(l.d.CacheDir, remoteCacheFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cached))
	require.Equal(t, remoteCache{URL: l.cfg.RemoteListURL, FetchedAt: l.d.now(), Body: l.body}, cached)
}

func TestRemoteTOMLList(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) {
		l.body = "# fleet catalog\n[[server]]\nname = \"ntp.corp.example\"\noperator = \"Corp IT\"\ncountry = \"de\"\nnts = true\nsource = \"internal\"\n\n" +
			"[[server]]\nname = \"far.corp.example\"\noperator = \"Corp US\"\ncountry = \"us\"\nmin_spacing = \"3s\"\nsource = \"internal\"\n"
	})
	res := l.discover(t)
	require.Empty(t, res.Warnings)
	require.Equal(t, []string{"ntp.corp.example", "far.corp.example"}, catalogNames(res))
	first := res.Candidates[index(res, "ntp.corp.example")]
	require.Equal(t, "Corp IT", first.Operator)
	require.True(t, first.NTS)
	require.Equal(t, 3*time.Second, res.Candidates[index(res, "far.corp.example")].MinSpacing)
}

func TestRemoteFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(l *remoteLab)
		warnHas string
	}{
		{"server error", func(l *remoteLab) { l.status = http.StatusInternalServerError }, "HTTP status 500"},
		{"not found", func(l *remoteLab) { l.status = http.StatusNotFound }, "HTTP status 404"},
		{"too large", func(l *remoteLab) { l.cfg.RemoteMaxBytes = 64; l.body = strings.Repeat("a.example\n", 20) }, "64-byte cap"},
		{"bad name", func(l *remoteLab) { l.body = "good.example\nevil.example\nrestrict default\n" }, "/list:3: bad server entry"},
		{"hash in a name", func(l *remoteLab) { l.body = "a.example#b\n" }, "/list:1: invalid server name"},
		{"bad TOML", func(l *remoteLab) { l.body = "[[server]]\nname = 1\n" }, "bad server catalog"},
		{"empty", func(l *remoteLab) { l.body = "# nothing yet\n" }, "no servers"},
		{"timeout", func(l *remoteLab) { l.delay = time.Second; l.cfg.RemoteTimeout = 100 * time.Millisecond }, "deadline exceeded"},
		{"redirect to http", func(l *remoteLab) { l.cfg.RemoteListURL = l.srv.URL + "/to-http" }, "only https:// is allowed"},
		{"untrusted certificate", func(l *remoteLab) { l.d.Client = &http.Client{} }, "certificate"},
	}
	const good = "ntp1.corp.example\nntp2.corp.example\n"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No cache: the embedded catalog is used, with the reason.
			l := newRemoteLab(t)
			l.set(tc.setup)
			res := l.discover(t)
			require.Contains(t, fmt.Sprint(res.Warnings), tc.warnHas)
			require.Contains(t, fmt.Sprint(res.Warnings), "using the embedded catalog")
			require.Contains(t, catalogNames(res), "ptbtime1.ptb.de")
			for _, c := range res.Candidates {
				require.False(t, strings.HasPrefix(c.Origin, OriginRemote), c.Name)
			}

			// With a cached copy from an earlier good run: the copy is used.
			l = newRemoteLab(t)
			l.set(func(l *remoteLab) { l.body = good })
			require.Empty(t, l.discover(t).Warnings)
			url := l.cfg.RemoteListURL
			l.set(tc.setup)
			l.cfg.RemoteListURL = url // the cache is per URL
			if tc.name == "redirect to http" {
				l.cfg.RemoteListURL = l.srv.URL + "/to-http"
				return // another URL: covered by TestRemoteCacheIsPerURL
			}
			later := l.d.now().Add(3 * time.Hour)
			l.d.Clock = clocktest.NewStepper(later)
			res = l.discover(t)
			require.Contains(t, fmt.Sprint(res.Warnings), tc.warnHas)
			require.Contains(t, fmt.Sprint(res.Warnings), "using the cached copy fetched 2026-05-01 12:00:00Z (3h0m0s ago)")
			require.Equal(t, []string{"ntp1.corp.example", "ntp2.corp.example"}, catalogNames(res))
			require.ErrorIs(t, res.Warnings[0], ErrRemoteList)
		})
	}
}

func TestRemoteRedirectWithinHTTPS(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) { l.body = "ntp1.corp.example\n" })
	l.cfg.RemoteListURL = l.srv.URL + "/to-https"
	res := l.discover(t)
	require.Empty(t, res.Warnings)
	require.Equal(t, []string{"ntp1.corp.example"}, catalogNames(res))
}

func TestRemoteCacheIsPerURL(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) { l.body = "ntp1.corp.example\n" })
	require.Empty(t, l.discover(t).Warnings)
	l.cfg.RemoteListURL = l.srv.URL + "/to-http"
	res := l.discover(t)
	require.Contains(t, fmt.Sprint(res.Warnings), "holds the list of "+l.srv.URL+"/list, not this URL")
	require.Contains(t, catalogNames(res), "ptbtime1.ptb.de")
}

func TestRemoteCorruptCache(t *testing.T) {
	l := newRemoteLab(t)
	require.NoError(t, os.WriteFile(filepath.Join(l.d.CacheDir, remoteCacheFile), []byte("{not json"), 0o644))
	l.set(func(l *remoteLab) { l.status = http.StatusBadGateway })
	res := l.discover(t)
	require.Contains(t, fmt.Sprint(res.Warnings), "no usable cached copy")
	require.Contains(t, catalogNames(res), "ptbtime1.ptb.de")
	// A good download replaces the corrupt copy.
	l.set(func(l *remoteLab) { l.status, l.body = http.StatusOK, "ntp1.corp.example\n" })
	require.Empty(t, l.discover(t).Warnings)
	_, _, err := l.d.readCache(l.cfg.RemoteListURL)
	require.NoError(t, err)
}

func TestRemoteUnwritableCache(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) { l.body = "ntp1.corp.example\n" })
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	l.d.CacheDir = filepath.Join(blocker, "cache") // under a regular file: cannot be created
	res := l.discover(t)
	require.Contains(t, fmt.Sprint(res.Warnings), "could not cache it")
	require.Equal(t, []string{"ntp1.corp.example"}, catalogNames(res), "the fresh list is used all the same")
}

func TestRemoteContextCancelled(t *testing.T) {
	l := newRemoteLab(t)
	l.set(func(l *remoteLab) { l.delay = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := l.d.Discover(ctx, l.cfg, nil)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 2*time.Second, "the caller's deadline bounds the download")
	require.Contains(t, fmt.Sprint(res.Warnings), "using the embedded catalog")
}

// FuzzParseRemote feeds arbitrary bodies to the remote list parser: either
// it rejects them, or every name it returns is safe and valid.
func FuzzParseRemote(f *testing.F) {
	f.Add([]byte("a.example\nb.example:123\n"))
	f.Add([]byte("[[server]]\nname = \"a.example\"\noperator = \"A\"\nanycast = true\nsource = \"s\"\n"))
	f.Add([]byte("# c\n[pool]\n"))
	f.Add([]byte("a\nb c\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseRemote(body, "https://fuzz.example/list")
		if err != nil {
			require.Nil(t, got)
			return
		}
		require.NotEmpty(t, got)
		for _, c := range got {
			_, _, perr := parseEntry(c.Name)
			require.NoError(t, perr, c.Name)
			require.False(t, strings.ContainsAny(c.Name, " \t\r\n#\x00\"'\\;[]"), "unsafe name %q", c.Name)
		}
	})
}
