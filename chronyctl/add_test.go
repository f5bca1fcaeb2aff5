package chronyctl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

func TestAddSourceValidate(t *testing.T) {
	ok := NewAddSource(TypeServer, "ntp.example.org")
	tests := []struct {
		name   string
		modify func(r *AddSourceRequest)
		reason string // "" = valid
	}{
		{name: "defaults", modify: func(*AddSourceRequest) {}},
		{name: "ipv6", modify: func(r *AddSourceRequest) { r.Name = "2001:db8::1" }},
		{name: "pool", modify: func(r *AddSourceRequest) { r.Type = TypePool }},
		{name: "zero value", modify: func(r *AddSourceRequest) { *r = AddSourceRequest{Name: "a.example", Type: TypeServer} }, reason: "port 0"},
		{name: "injection", modify: func(r *AddSourceRequest) { r.Name = "a.example\nallow all" }, reason: "control character"},
		{name: "space", modify: func(r *AddSourceRequest) { r.Name = "a.example iburst" }, reason: "whitespace"},
		{name: "empty", modify: func(r *AddSourceRequest) { r.Name = "" }, reason: "empty"},
		{name: "too long", modify: func(r *AddSourceRequest) { r.Name = strings.Repeat("a.", 127) + "a" }, reason: "longer than"},
		{name: "type", modify: func(r *AddSourceRequest) { r.Type = 4 }, reason: "type 4"},
		{name: "port", modify: func(r *AddSourceRequest) { r.Port = 70000 }, reason: "port 70000"},
		{name: "minpoll", modify: func(r *AddSourceRequest) { r.MinPoll = 25 }, reason: "minpoll 25"},
		{name: "polltarget", modify: func(r *AddSourceRequest) { r.PollTarget = 0 }, reason: "polltarget 0"},
		{name: "maxdelay", modify: func(r *AddSourceRequest) { r.MaxDelay = 0 }, reason: "maxdelay 0"},
		{name: "version", modify: func(r *AddSourceRequest) { r.Version = 5 }, reason: "version 5"},
		{name: "pool maxsources", modify: func(r *AddSourceRequest) { r.Type, r.MaxSources = TypePool, 17 }, reason: "maxsources 17"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.modify(&r)
			err := r.Validate()
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.reason)
		})
	}
	require.ErrorIs(t, AddSourceRequest{Name: "a b"}.Validate(), srvname.ErrInvalid)
}

func TestAddSourceBodyLayout(t *testing.T) {
	r := NewAddSource(TypePool, "pool.example.org")
	req := newRequest(cmdAddSource, r.body())
	require.Len(t, req, 372)
	require.Equal(t, "pool.example.org\x00", string(req[24:41]))
	require.Zero(t, req[279], "the name is NUL-terminated")
	be := func(off int) uint32 {
		return uint32(req[off])<<24 | uint32(req[off+1])<<16 | uint32(req[off+2])<<8 | uint32(req[off+3])
	}
	require.Equal(t, uint32(3), be(20))
	require.Equal(t, uint32(123), be(280))
	require.Equal(t, uint32(4460), be(324))
	require.Equal(t, uint32(0x06C00000), be(328), "maxdelay 3.0")
	require.Equal(t, uint32(FlagOnline), be(352))
	require.Equal(t, uint32(100000), be(368), "max_unreach")
}
