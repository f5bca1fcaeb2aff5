package fallback

import (
	"context"
	"errors"
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// FileBackend is what the ntpd and timesyncd backends offer (*NTPD and
// *Timesyncd).
type FileBackend interface {
	Current(ctx context.Context) ([]string, error)
	Plan(servers []Server, policy daemon.Policy) (*Change, error)
	Apply(ctx context.Context, c *Change) (*Result, error)
}

// Files adapts a file-editing backend to the Backend the agent declares
// (with package daemon's types). It has no measurements of its own: every
// source is probed. The set is written by address, best first (timesyncd
// uses the first that answers).
type Files struct {
	Kind    string // DaemonNTPD or DaemonTimesyncd
	Backend FileBackend
}

// Name is the daemon, "ntpd" or "timesyncd".
func (f *Files) Name() string { return f.Kind }

// Sources are the servers the configuration names.
func (f *Files) Sources(ctx context.Context) ([]daemon.Source, error) {
	names, err := f.Backend.Current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]daemon.Source, len(names))
	for i, n := range names {
		out[i] = daemon.Source{Name: n, ID: n}
		if a, err := netip.ParseAddr(n); err == nil {
			out[i].Address = a
		}
	}
	return out, nil
}

// CanNTS says whether the daemon authenticates with NTS (NTPsec does;
// classic ntpd and timesyncd do not).
func (f *Files) CanNTS() bool {
	c, ok := f.Backend.(interface{ CanNTS() bool })
	return ok && c.CanNTS()
}

func (f *Files) change(p daemon.Plan) (*Change, error) {
	servers := make([]Server, len(p.Selected))
	for i, s := range p.Selected {
		servers[i] = Server{Name: s.Address.String(), Origin: s.Name, NTS: s.NTS}
	}
	return f.Backend.Plan(servers, p.Policy)
}

// Preview is the unified diff of the files Apply would write.
func (f *Files) Preview(p daemon.Plan) (string, error) {
	c, err := f.change(p)
	if err != nil {
		return "", err
	}
	return c.Diff(), nil
}

// Apply makes the change: backup, atomic write, restart or live apply,
// verification and rollback (see NTPD.Apply and Timesyncd.Apply).
func (f *Files) Apply(ctx context.Context, p daemon.Plan) (daemon.Applied, error) {
	c, err := f.change(p)
	if err != nil {
		return daemon.Applied{}, err
	}
	res := daemon.Applied{Warnings: c.Warnings}
	if c.Empty() {
		return res, nil
	}
	r, err := f.Backend.Apply(ctx, c)
	if r != nil && r.RolledBack {
		res.RolledBack, res.Reason = true, r.Reason
		if errors.Is(err, daemon.ErrRolledBack) {
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
