package fallback

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// validate parses the written tree back: it must carry exactly the planned
// servers in the block, and stripping the agent's edits must give back the
// files as they were. Then the optional daemon check runs.
func (n *NTPD) validate(ctx context.Context, c *Change) error {
	files, err := n.tree()
	if err != nil {
		return err
	}
	names, managed := activeSources(files)
	var got []string
	for i, name := range names {
		if managed[i] {
			got = append(got, name)
		}
	}
	if !c.Revert {
		want := map[string]bool{}
		for _, s := range c.Servers {
			want[s.Name] = true
		}
		for _, g := range got {
			if !want[g] {
				return fmt.Errorf("parsed back: the ntp-optimizer block has %q, which was not selected", g)
			}
		}
		if len(names) == 0 {
			return errors.New("parsed back: no active server or pool line")
		}
		if c.Policy == daemon.PolicyConverge && !slices.Equal(got, serverNames(c.Servers)) {
			return fmt.Errorf("parsed back: the ntp-optimizer block has %v, want %v", got, serverNames(c.Servers))
		}
	} else if len(got) > 0 {
		return fmt.Errorf("parsed back: %d servers still in the ntp-optimizer block after a revert", len(got))
	}
	for _, fc := range c.Files {
		a, err := stripLines(fc.Path, splitLines(fc.Old))
		if err != nil {
			return err
		}
		b, err := stripLines(fc.Path, splitLines(fc.New))
		if err != nil {
			return fmt.Errorf("parsed back: %w", err)
		}
		if string(joinLines(a)) != string(joinLines(b)) {
			return fmt.Errorf("parsed back: %s: lines outside the agent's markers changed", fc.Path)
		}
	}
	if n.cfg.Check != nil {
		p, _ := n.ConfPath()
		if err := n.cfg.Check(ctx, p); err != nil {
			return fmt.Errorf("daemon check of %s: %w", p, err)
		}
	}
	return nil
}

// waitReachable polls ntpd over mode 6 until MinReachable associations are
// reachable, for at most VerifyTimeout.
func (n *NTPD) waitReachable(ctx context.Context) ([]Peer, error) {
	var peers []Peer
	err := poll(ctx, n.cfg.Clock, n.cfg.VerifyTimeout, n.cfg.VerifyInterval, "ntpd not healthy", func(ctx context.Context) error {
		p, err := n.cfg.Peers.Peers(ctx)
		if err != nil {
			return err
		}
		peers = p
		reach := 0
		for _, x := range p {
			if x.Reach != 0 || x.Reachable {
				reach++
			}
		}
		if reach < n.cfg.MinReachable {
			return fmt.Errorf("%d of %d associations reachable, want %d", reach, len(p), n.cfg.MinReachable)
		}
		return nil
	})
	return peers, err
}
