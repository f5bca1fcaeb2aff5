package chronyctl

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// loseFirstReply loses chronyd's reply to the first request with command
// cmd (the request still takes effect).
func loseFirstReply(cmd uint16) func([]byte, int, func() []byte) [][]byte {
	return func(req []byte, n int, answer func() []byte) [][]byte {
		r := answer()
		if reqCommand(req) == cmd && n == 0 {
			return nil
		}
		return [][]byte{r}
	}
}

// delayFirst holds the first request with command cmd and lets it take
// effect only when the next one arrives (a stalled chronyd): the
// retransmission then meets the effect of the first transmission.
func delayFirst(cmd uint16) func([]byte, int, func() []byte) [][]byte {
	var held func() []byte
	return func(req []byte, n int, answer func() []byte) [][]byte {
		if reqCommand(req) != cmd {
			return [][]byte{answer()}
		}
		if n == 0 {
			held = answer
			return nil
		}
		held() // its reply is lost
		return [][]byte{answer()}
	}
}

func reqCommand(req []byte) uint16 { return uint16(req[4])<<8 | uint16(req[5]) }

func TestAddSourceRetries(t *testing.T) {
	ip := "192.0.2.7"
	tests := []struct {
		name     string
		existing []fakeSource
		hook     func([]byte, int, func() []byte) [][]byte
		source   string
		wantErr  error
		wantAdds int // ADD_SOURCE transmissions
		wantN    int // sources afterwards
	}{
		{name: "lost reply: the check finds the source, no retransmission",
			hook: loseFirstReply(cmdAddSource), source: ip, wantAdds: 1, wantN: 1},
		{name: "stalled daemon: the retransmission is answered 511, the source is new",
			hook: delayFirst(cmdAddSource), source: ip, wantAdds: 2, wantN: 1},
		{name: "present before: 511 stays an error",
			existing: []fakeSource{{addr: mustIP(ip), name: ip}},
			hook:     loseFirstReply(cmdAddSource), source: ip, wantErr: ErrSourceExists, wantAdds: 2, wantN: 1},
		{name: "name with lost reply: no second placeholder",
			hook: loseFirstReply(cmdAddSource), source: "ntp.example.org", wantAdds: 1, wantN: 1},
		{name: "name already configured: a second one is added",
			existing: []fakeSource{{addr: IDAddr(1), name: "ntp.example.org"}},
			source:   "ntp.example.org", wantAdds: 1, wantN: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDaemon{sources: tc.existing, nextID: uint32(len(tc.existing)), hook: tc.hook}
			c := newFake(t, d, false, fast)
			err := c.AddSource(context.Background(), NewAddSource(TypeServer, tc.source))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Len(t, d.requests(cmdAddSource), tc.wantAdds)
			require.Len(t, d.sources, tc.wantN)
		})
	}
}

func TestDeleteSourceRetries(t *testing.T) {
	a := mustIP("192.0.2.8")
	tests := []struct {
		name     string
		existing []fakeSource
		hook     func([]byte, int, func() []byte) [][]byte
		wantErr  error
		wantDels int
	}{
		{name: "lost reply: the check finds it gone, no retransmission",
			existing: []fakeSource{{addr: a}}, hook: loseFirstReply(cmdDelSource), wantDels: 1},
		{name: "stalled daemon: the retransmission is answered 503, it is gone",
			existing: []fakeSource{{addr: a}}, hook: delayFirst(cmdDelSource), wantDels: 2},
		{name: "absent before: 503 stays an error",
			hook: loseFirstReply(cmdDelSource), wantErr: ErrNoSuchSource, wantDels: 2},
		{name: "absent, reply arrives", wantErr: ErrNoSuchSource, wantDels: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDaemon{sources: tc.existing, hook: tc.hook}
			c := newFake(t, d, false, fast)
			err := c.DeleteSource(context.Background(), a)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Contains(t, err.Error(), "delete 192.0.2.8: chronyd answered DEL_SOURCE with 503 No such source")
			} else {
				require.NoError(t, err)
			}
			require.Len(t, d.requests(cmdDelSource), tc.wantDels)
			require.Empty(t, d.sources)
		})
	}
}
