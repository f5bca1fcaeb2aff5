package daemon

import "context"

// Unavailable is the backend of a run whose NTP daemon could not be
// reached: the run fails at its first step with Err, and is still recorded
// in history, counted and notified like any failed run.
type Unavailable struct {
	Kind string // the daemon that was looked for
	Err  error
}

// Name is the daemon that was looked for.
func (u *Unavailable) Name() string { return u.Kind }

// Sources is always Err.
func (u *Unavailable) Sources(context.Context) ([]Source, error) { return nil, u.Err }

// Apply is always Err.
func (u *Unavailable) Apply(context.Context, Plan) (Applied, error) { return Applied{}, u.Err }

// Preview is always Err.
func (u *Unavailable) Preview(Plan) (string, error) { return "", u.Err }
