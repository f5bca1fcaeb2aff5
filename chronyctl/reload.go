package chronyctl

import (
	"context"
	"fmt"
)

// ReloadSources makes chronyd re-read the *.sources files in its sourcedir
// directories (REQ_RELOAD_SOURCES, chrony 4.0+): new or changed entries are
// added, vanished ones removed, unchanged ones kept with their state.
func (c *Client) ReloadSources(ctx context.Context) error {
	if _, _, err := c.do(ctx, cmdReloadSources, nil, nil); err != nil {
		return fmt.Errorf("reload sources: %w", err)
	}
	return nil
}

// Refresh makes chronyd resolve every source's name again and replace
// addresses that changed (REQ_REFRESH).
func (c *Client) Refresh(ctx context.Context) error {
	if _, _, err := c.do(ctx, cmdRefresh, nil, nil); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

// Reselect makes chronyd run its source selection now (REQ_RESELECT,
// chronyc "reselect"), e.g. after MODIFY_SELECTOPTS, whose change chronyd
// otherwise applies only at its next selection (the next sample of any
// source, which may be minutes away).
func (c *Client) Reselect(ctx context.Context) error {
	if _, _, err := c.do(ctx, cmdReselect, nil, nil); err != nil {
		return fmt.Errorf("reselect: %w", err)
	}
	return nil
}
