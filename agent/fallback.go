package agent

import (
	"context"
	"errors"
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/fallback"
)

// FileBackend is what the ntpd and timesyncd backends of package fallback
// offer (satisfied by *fallback.NTPD and *fallback.Timesyncd).
type FileBackend interface {
	Current(ctx context.Context) ([]string, error)
	Plan(servers []fallback.Server, policy fallback.Policy) (*fallback.Change, error)
	Apply(ctx context.Context, c *fallback.Change) (*fallback.Result, error)
}

// Files adapts a file-editing backend to Backend. It has no measurements
// of its own: every source is probed. The set is written by address, best
// first (timesyncd uses the first that answers).
type Files struct {
	Kind    string // "ntpd" or "timesyncd"
	Backend FileBackend
}

// Name implements Backend.
func (f *Files) Name() string { return f.Kind }

// Sources implements Backend: the servers the configuration names.
func (f *Files) Sources(ctx context.Context) ([]DaemonSource, error) {
	names, err := f.Backend.Current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DaemonSource, len(names))
	for i, n := range names {
		out[i] = DaemonSource{Name: n, ID: n}
		if a, err := netip.ParseAddr(n); err == nil {
			out[i].Address = a
		}
	}
	return out, nil
}

func (f *Files) change(p Plan) (*fallback.Change, error) {
	servers := make([]fallback.Server, len(p.Selected))
	for i, s := range p.Selected {
		servers[i] = fallback.Server{Name: s.Address.String(), Origin: s.Name}
	}
	return f.Backend.Plan(servers, fallback.Policy(p.Policy))
}

// Preview implements Backend: the unified diff of the files.
func (f *Files) Preview(p Plan) (string, error) {
	c, err := f.change(p)
	if err != nil {
		return "", err
	}
	return c.Diff(), nil
}

// Apply implements Backend: backup, atomic write, restart or live apply,
// verification and rollback all happen in package fallback.
func (f *Files) Apply(ctx context.Context, p Plan) (Applied, error) {
	c, err := f.change(p)
	if err != nil {
		return Applied{}, err
	}
	res := Applied{Warnings: c.Warnings}
	if c.Empty() {
		return res, nil
	}
	r, err := f.Backend.Apply(ctx, c)
	if r != nil && r.RolledBack {
		res.RolledBack, res.Reason = true, r.Reason
		if errors.Is(err, fallback.ErrRolledBack) {
			err = nil // reported through RolledBack
		}
		return res, err
	}
	if err != nil {
		return res, err
	}
	res.Added, res.Removed = p.Add, p.Remove
	return res, nil
}
