package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// remoteCacheFile is the remote list's cached copy in Discoverer.CacheDir.
const remoteCacheFile = "remote-list.json"

// maxCacheBytes caps what readCache reads: the cached body is at most
// maxRemoteMaxBytes, and JSON escaping can grow it up to six times.
const maxCacheBytes = 6*maxRemoteMaxBytes + 4096

// remoteCache is the cached copy of the last good remote list.
type remoteCache struct {
	URL       string    `json:"url"`
	FetchedAt time.Time `json:"fetched_at"`
	Body      string    `json:"body"`
}

// writeCache stores body atomically (temp file, fsync, rename), so a crash
// leaves either the old copy or the new one.
func (d *Discoverer) writeCache(url string, body []byte) error {
	if d.CacheDir == "" {
		return nil
	}
	data, err := json.Marshal(remoteCache{URL: url, FetchedAt: d.now().UTC(), Body: string(body)})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.CacheDir, 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(d.CacheDir, remoteCacheFile), data, 0o644)
}

// readCache returns the cached body for url and when it was fetched.
func (d *Discoverer) readCache(url string) ([]byte, time.Time, error) {
	if d.CacheDir == "" {
		return nil, time.Time{}, errors.New("no cache directory configured")
	}
	p := filepath.Join(d.CacheDir, remoteCacheFile)
	f, err := os.Open(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCacheBytes+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(data) > maxCacheBytes {
		return nil, time.Time{}, fmt.Errorf("%s is larger than %d bytes", p, maxCacheBytes)
	}
	var c remoteCache
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", p, err)
	}
	if c.URL != url {
		return nil, time.Time{}, fmt.Errorf("%s holds the list of %s, not this URL", p, c.URL)
	}
	return []byte(c.Body), c.FetchedAt, nil
}
