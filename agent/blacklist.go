package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// ErrNotListed: a server named for clearing has no blacklist entry, active
// or ended, by address or by the name the entry records.
var ErrNotListed = errors.New("not on the blacklist")

// BlacklistItem is one blacklist entry as the operator sees it.
type BlacklistItem struct {
	Address netip.Addr `json:"address"`
	scoring.BlacklistEntry
	// Active says the entry still blacklists; an ended one (expired or
	// lifted) is kept so a repeat doubles the next term.
	Active bool `json:"active"`
}

// FailureCount is an address counting toward the blacklist: the runs in a
// row it did not answer while enough others did, and what answered in each.
type FailureCount struct {
	Address  netip.Addr `json:"address"`
	Runs     int        `json:"runs"`
	Evidence []string   `json:"evidence,omitempty"`
}

// BlacklistView is the blacklist and the failure counts building up.
type BlacklistView struct {
	Entries  []BlacklistItem `json:"blacklist"`
	Failures []FailureCount  `json:"failures"`
}

// Active returns the view's active entries.
func (v BlacklistView) Active() []BlacklistItem {
	var out []BlacklistItem
	for _, e := range v.Entries {
		if e.Active {
			out = append(out, e)
		}
	}
	return out
}

// Blacklist is st's blacklist at now: the active entries, and with ended
// also those that ended (expired or lifted) but are kept for doubling;
// active entries first, each group by the end of its term, then address.
// Failures are every address still counting, most runs first.
func Blacklist(st *scoring.State, now time.Time, ended bool) BlacklistView {
	v := BlacklistView{Entries: []BlacklistItem{}, Failures: []FailureCount{}}
	for a, e := range st.Blacklist {
		item := BlacklistItem{Address: a, BlacklistEntry: e, Active: e.Active(now)}
		if item.Active || ended {
			v.Entries = append(v.Entries, item)
		}
	}
	slices.SortFunc(v.Entries, func(x, y BlacklistItem) int {
		if x.Active != y.Active {
			if x.Active {
				return -1
			}
			return 1
		}
		return cmp.Or(x.Until.Compare(y.Until), x.Address.Compare(y.Address))
	})
	for a, n := range st.Failures {
		if n > 0 {
			v.Failures = append(v.Failures, FailureCount{Address: a, Runs: n, Evidence: st.Evidence[a]})
		}
	}
	slices.SortFunc(v.Failures, func(x, y FailureCount) int {
		return cmp.Or(cmp.Compare(y.Runs, x.Runs), x.Address.Compare(y.Address))
	})
	return v
}

// MatchBlacklist returns, in address order, the addresses whose entries
// (active or ended) server names: an address (an IPv6 one in any spelling,
// brackets allowed) or the name the entry records (case-insensitive, a
// trailing dot ignored). A name can match several addresses.
func MatchBlacklist(st *scoring.State, server string) []netip.Addr {
	server = strings.TrimSpace(server)
	var out []netip.Addr
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")); err == nil {
		a = a.Unmap().WithZone("")
		for k := range st.Blacklist {
			if k.Unmap().WithZone("") == a {
				out = append(out, k)
			}
		}
	} else if name := strings.TrimSuffix(server, "."); name != "" {
		for k, e := range st.Blacklist {
			if strings.EqualFold(strings.TrimSuffix(e.Name, "."), name) {
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Cleared is an entry ClearBlacklist was asked to clear.
type Cleared struct {
	// Server is the argument that named it ("" for all).
	Server  string     `json:"server,omitempty"`
	Address netip.Addr `json:"address"`
	// Entry is the entry as it was before.
	Entry scoring.BlacklistEntry `json:"entry"`
	// Lifted is false when the entry had already ended: nothing to do.
	Lifted bool `json:"lifted"`
}

// ClearBlacklist lifts the entries servers name (see MatchBlacklist), or
// with all every active entry, under the state directory's lock (waiting
// up to wait for a run in progress). A lifted entry ends now but stays,
// expired, so a repeat still doubles the next term; the failure counts are
// left as they are. A server that names no entry is an error wrapping
// ErrNotListed, and then nothing is changed. The state is saved only when
// an entry was lifted. The NTP daemon is not touched: the next run simply
// no longer skips the address.
//
// A state file that does not parse is left where it is (the next run moves
// it aside) and is an error, as is a state directory that does not exist
// yet for named servers (nothing is listed; it is not created).
func (s *Store) ClearBlacklist(ctx context.Context, wait time.Duration, servers []string, all bool) ([]Cleared, error) {
	switch {
	case all && len(servers) > 0:
		return nil, fmt.Errorf("%w: name servers or clear all, not both", ErrInput)
	case !all && len(servers) == 0:
		return nil, fmt.Errorf("%w: no server named to clear", ErrInput)
	}
	if _, err := os.Stat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		if all {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w (no state in %s)", quoted(servers), ErrNotListed, s.Dir)
	}
	lock, err := s.Lock(ctx, wait)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	st, moved, err := s.PeekState()
	if err != nil {
		return nil, err
	}
	if len(moved) > 0 {
		return nil, fmt.Errorf("%s; not changing it (the next run moves it aside)", moved[0])
	}
	now := s.now()
	var out []Cleared
	if all {
		for _, item := range Blacklist(&st.Scoring, now, false).Entries {
			out = append(out, Cleared{Address: item.Address, Entry: item.BlacklistEntry, Lifted: true})
		}
	} else {
		seen := map[netip.Addr]bool{}
		var unknown []string
		for _, srv := range servers {
			addrs := MatchBlacklist(&st.Scoring, srv)
			if len(addrs) == 0 {
				unknown = append(unknown, srv)
			}
			for _, a := range addrs {
				if seen[a] {
					continue
				}
				seen[a] = true
				e := st.Scoring.Blacklist[a]
				out = append(out, Cleared{Server: srv, Address: a, Entry: e, Lifted: e.Active(now)})
			}
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("%s: %w (ntp-optimizer blacklist list --all shows every entry); nothing was cleared",
				quoted(unknown), ErrNotListed)
		}
	}
	changed := false
	for _, c := range out {
		if c.Lifted {
			changed = st.Scoring.Lift(c.Address, now) || changed
		}
	}
	if !changed {
		return out, nil
	}
	if err := s.SaveState(st); err != nil {
		return nil, err
	}
	return out, nil
}

// quoted is "a", "b".
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
