package chronyctl

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTypesTextRoundTrip(t *testing.T) {
	type all struct {
		Mode   []Mode
		State  []State
		Opts   []SelectOptions
		Leap   []LeapStatus
		Source Source
	}
	in := all{
		Mode:  []Mode{ModeServer, ModePeer, ModeRefclock, 7},
		State: []State{StateSelected, StateUnusable, StateFalseticker, StateJittery, StateCombined, StateNotCombined, 9},
		Opts:  []SelectOptions{0, SelectPrefer, SelectNoSelect | SelectTrust | SelectRequire, SelectPrefer | 0x40},
		Leap:  []LeapStatus{LeapNormal, LeapInsertSecond, LeapDeleteSecond, LeapNotSynchronised, 4},
		Source: Source{Address: IDAddr(2), Mode: ModePeer, State: StateCombined,
			Select: SelectData{ConfOptions: SelectPrefer}},
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.Contains(t, string(b), `"Mode":["server","peer","refclock","mode(7)"]`)
	require.Contains(t, string(b), `"Opts":["","prefer","noselect,trust,require","prefer,0x40"]`)
	require.Contains(t, string(b), `"Leap":["normal","insert_second","delete_second","not_synchronised","invalid"]`)
	var out all
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
	require.Error(t, json.Unmarshal([]byte(`["bogus"]`), &[]Mode{}))
	require.Equal(t, "*?x~+- ", string([]byte{StateSelected.Char(), StateUnusable.Char(), StateFalseticker.Char(), StateJittery.Char(), StateCombined.Char(), StateNotCombined.Char(), State(9).Char()}))
	require.Equal(t, "^=# ", string([]byte{ModeServer.Char(), ModePeer.Char(), ModeRefclock.Char(), Mode(3).Char()}))
}
