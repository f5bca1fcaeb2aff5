package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrRemoteList is wrapped by every warning about the remote list.
var ErrRemoteList = errors.New("remote server list")

// maxRedirects bounds the redirects followed for the remote list.
const maxRedirects = 5

// remoteServers returns the remote list's servers: freshly downloaded, or
// else the cached copy. ok is false when neither is usable and the caller
// should fall back to the embedded catalog; warnings say why.
func (d *Discoverer) remoteServers(ctx context.Context, cfg Config) (servers []Candidate, ok bool, warnings []error) {
	where := cfg.RemoteListURL
	body, err := d.download(ctx, cfg)
	if err == nil {
		servers, err = parseRemote(body, where)
	}
	if err == nil {
		if cerr := d.writeCache(where, body); cerr != nil {
			warnings = append(warnings, fmt.Errorf("%w: %s: could not cache it: %w", ErrRemoteList, where, cerr))
		}
		return servers, true, warnings
	}
	warnings = append(warnings, fmt.Errorf("%w: %s: %w", ErrRemoteList, where, err))
	cached, fetched, cerr := d.readCache(where)
	if cerr == nil {
		servers, cerr = parseRemote(cached, where)
	}
	if cerr != nil {
		warnings = append(warnings, fmt.Errorf("%w: %s: no usable cached copy (%w): using the embedded catalog", ErrRemoteList, where, cerr))
		return nil, false, warnings
	}
	warnings = append(warnings, fmt.Errorf("%w: %s: using the cached copy fetched %s (%s ago)", ErrRemoteList, where,
		fetched.UTC().Format("2006-01-02 15:04:05Z"), d.now().Sub(fetched).Round(time.Second)))
	return servers, true, warnings
}

// download fetches the list over HTTPS within cfg.RemoteTimeout and the
// context, refusing redirects away from https and bodies over the cap.
func (d *Discoverer) download(ctx context.Context, cfg Config) ([]byte, error) {
	if err := validateRemoteURL(cfg.RemoteListURL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.RemoteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.RemoteListURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain, application/toml;q=0.9")
	req.Header.Set("User-Agent", "ntp-optimizer")
	client := http.Client{}
	if d.Client != nil {
		client = *d.Client
	}
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %q: only https:// is allowed", r.URL.Redacted())
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error // its text repeats the URL the caller already names
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	if resp.ContentLength > cfg.RemoteMaxBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d-byte cap", resp.ContentLength, cfg.RemoteMaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, cfg.RemoteMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if int64(len(body)) > cfg.RemoteMaxBytes {
		return nil, fmt.Errorf("more than the %d-byte cap", cfg.RemoteMaxBytes)
	}
	return body, nil
}

// parseRemote parses a remote list: the catalog's TOML format ([[server]]
// entries only) when its first significant line starts with '[' (which no
// server name can), else one server per line like a servers file. Every
// name is validated; one bad entry rejects the whole list.
func parseRemote(body []byte, source string) ([]Candidate, error) {
	origin := OriginRemote + ":" + source
	var out []Candidate
	if looksLikeTOML(body) {
		c, err := parseCatalog(string(body), source, false)
		if err != nil {
			return nil, err
		}
		for _, s := range c.Servers {
			out = append(out, s.candidate(origin))
		}
	} else {
		entries, err := parseServers(strings.NewReader(string(body)), source)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			out = append(out, listed(Candidate{Name: e.Name, Port: e.Port, Origin: origin}, e.NTS))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the list has no servers")
	}
	for i := range out {
		enrich(&out[i])
	}
	return out, nil
}

func looksLikeTOML(body []byte) bool {
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		return line[0] == '['
	}
	return false
}
