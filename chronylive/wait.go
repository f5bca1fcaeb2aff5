package chronylive

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// waitAnswered polls chronyd until every added source has answered (a
// non-zero reach register) and chronyd counts it selectable ('*', '+' or
// '-': it has enough samples and agrees with the others), so that a source
// about to be deleted is only ever traded for one chronyd can use. It fails
// with the sources still silent or unselectable after AnswerTimeout, or
// with chronyd's error.
func (b *Backend) waitAnswered(ctx context.Context, added []daemon.Server) error {
	if len(added) == 0 {
		return nil
	}
	// A by-name source is found by its name (chronyd's address for it
	// may not be the one probed): read the names then.
	var parts chronyctl.Parts
	if slices.ContainsFunc(added, byName) {
		parts = chronyctl.PartName
	}
	clk := clock.Or(b.Clock)
	deadline := clk.Now().Add(b.answerTimeout())
	for {
		srcs, err := b.Client.SourcesParts(ctx, parts)
		if err != nil {
			return fmt.Errorf("waiting for new sources to answer: %w", err)
		}
		byAddr := map[string]*chronyctl.Source{}
		named := map[string]*chronyctl.Source{} // by canonical name, the most advanced of a name
		for i := range srcs {
			src := &srcs[i]
			byAddr[src.Address.String()] = src
			if n := canonicalName(src.Name); src.Name != "" && (named[n] == nil || ahead(src, named[n])) {
				named[n] = src
			}
		}
		var silent, unusable []string
		var unusableIDs []string
		nts := false
		for _, s := range added {
			src := byAddr[s.Address.String()]
			if byName(s) {
				src = named[canonicalName(s.Name)]
			}
			switch {
			case src == nil || src.Reach == 0:
				silent = append(silent, label(s))
				nts = nts || s.NTS
			case !selectable(src.State):
				unusable = append(unusable, fmt.Sprintf("%s (%c)", label(s), src.State.Char()))
				unusableIDs = append(unusableIDs, src.Address.String())
			}
		}
		if len(silent)+len(unusable) == 0 {
			return nil
		}
		if clk.Now().After(deadline) {
			if len(silent) == 0 {
				return fmt.Errorf("new sources answered but chronyd did not find them selectable within %v: %s%s",
					b.answerTimeout(), strings.Join(unusable, ", "), b.authSelectHint(ctx, unusableIDs))
			}
			return fmt.Errorf("new sources did not answer within %v: %s%s", b.answerTimeout(), strings.Join(silent, ", "), ntsHint(nts))
		}
		if err := clock.Sleep(ctx, clk, pollEvery); err != nil {
			return fmt.Errorf("waiting for new sources to answer (%s): %w",
				strings.Join(append(silent, unusable...), ", "), err)
		}
	}
}

// authSelectHint explains unselectable plain sources that chronyd's
// authselectmode keeps out beside authenticated ones (selectdata: 'T',
// untrusted under the default mix — a plain source is used only when its
// interval lies within the NTS sources'; or noselect added by prefer or
// require), or "" when that is not why.
func (b *Backend) authSelectHint(ctx context.Context, ids []string) string {
	srcs, err := b.Client.SourcesParts(ctx, chronyctl.PartSelect)
	if err != nil {
		return ""
	}
	var untrusted, noselect bool
	for _, s := range srcs {
		if !slices.Contains(ids, s.Address.String()) || !s.Has.Select || s.Select.Authenticated {
			continue
		}
		sel := s.Select
		untrusted = untrusted || sel.StateChar == "T"
		noselect = noselect || sel.EffOptions&chronyctl.SelectNoSelect != 0 && sel.ConfOptions&chronyctl.SelectNoSelect == 0
	}
	switch {
	case noselect:
		return " (chronyd's authselectmode makes plain NTP sources noselect beside NTS ones; `chronyc selectdata` shows N)"
	case untrusted:
		return " (chronyd's authselectmode mix uses a plain NTP source beside NTS ones only when it agrees with them; " +
			"`chronyc selectdata` shows T, untrusted)"
	}
	return ""
}

// ntsHint explains a silent source added with nts. chronyd takes such an
// ADD_SOURCE whether or not it was built with NTS (without it the source
// is created and never sends: stubs.c's NNC_GenerateRequestAuth logs
// "Missing NTS support"), so the silence is the only sign.
func ntsHint(nts bool) string {
	if !nts {
		return ""
	}
	return " (added with nts: a chronyd built without NTS support (`chronyd -v` shows -NTS) or a failed NTS key " +
		"exchange (`chronyc -n authdata`) never answers)"
}

// ahead says source a is further on than b: selectable, or else
// answering, where b is not.
func ahead(a, b *chronyctl.Source) bool {
	if selectable(a.State) != selectable(b.State) {
		return selectable(a.State)
	}
	return a.Reach != 0 && b.Reach == 0
}

// selectable says chronyd may select a source in this state.
func selectable(s chronyctl.State) bool {
	return s == chronyctl.StateSelected || s == chronyctl.StateCombined || s == chronyctl.StateNotCombined
}

// verify waits until chronyd has selected a reachable source and its leap
// status is normal.
func (b *Backend) verify(ctx context.Context) error {
	clk := clock.Or(b.Clock)
	deadline := clk.Now().Add(b.verifyTimeout())
	for {
		why := b.unhealthy(ctx)
		if why == "" {
			return nil
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("verification failed after %v: %s", b.verifyTimeout(), why)
		}
		if err := clock.Sleep(ctx, clk, pollEvery); err != nil {
			return fmt.Errorf("verification interrupted (%s): %w", why, err)
		}
	}
}

// unhealthy says what keeps chronyd from being healthy now; "" when it
// has selected a reachable source and its leap status is normal.
func (b *Backend) unhealthy(ctx context.Context) string {
	tr, err := b.Client.Tracking(ctx)
	if err != nil {
		return err.Error()
	}
	srcs, err := b.Client.SourcesParts(ctx, 0)
	if err != nil {
		return err.Error()
	}
	selected := false
	for _, s := range srcs {
		selected = selected || s.State == chronyctl.StateSelected && s.Reach != 0
	}
	switch {
	case !selected:
		return "chronyd has not selected a reachable source"
	case tr.Leap != chronyctl.LeapNormal:
		return "chronyd's leap status is " + tr.Leap.String()
	}
	return ""
}
