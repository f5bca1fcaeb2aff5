package chronyctl_test

import (
	"context"
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// ntsAdds are chronyc commands with the NTS options of a source, and the
// options as chrony.source_options (and SetOptions) take them.
var ntsAdds = []struct{ cmd, opts string }{
	{"add server 192.0.2.1 nts", "nts"},
	{"add server 192.0.2.1 iburst nts ntsport 4461 certset 2", "iburst nts ntsport 4461 certset 2"},
	{"add server 2001:db8::1 ntsport 123 nts", "ntsport 123 nts"},
}

// chronycRequest runs chronyc v's COMMAND against a fake socket and
// returns the one datagram it sent.
func chronycRequest(t *testing.T, v chronytest.Version, cmd string) []byte {
	t.Helper()
	argv := []string{"chronyc", "-h"}
	if v == chronytest.V46 {
		// A socket under the chroot's /tmp has the same path inside it
		// (the ROOT/ROOT -> / link).
		t.Setenv("TMPDIR", filepath.Join(chronytest.Root46(), "tmp"))
		argv = []string{"chroot", chronytest.Root46(), "/usr/bin/chronyc", "-h"}
	}
	fake := chronytest.Serve(t, &chronytest.Fixture{})
	argv = append(argv, fake.Socket)
	out, _ := exec.Command(argv[0], append(argv[1:], strings.Fields(cmd)...)...).CombinedOutput()
	reqs := fake.Requests()
	require.Len(t, reqs, 1, "chronyc %s: %s", cmd, out)
	return reqs[0]
}

// TestNTSOptionsMatchChronyc: an ADD_SOURCE with nts, ntsport and certset
// set by SetOptions is the datagram chronyc 4.3 and 4.6 send for the same
// words (up to max_unreach, see TestRequestsMatchChronyc), captured live
// from chronyc against a fake socket.
func TestNTSOptionsMatchChronyc(t *testing.T) {
	empty, err := chronytest.ReadFixture(filepath.Join(fixtureDir, "replies-4.3-unsynchronised.txt"))
	require.NoError(t, err)
	for _, v := range []chronytest.Version{chronytest.V43, chronytest.V46} {
		t.Run(string(v), func(t *testing.T) {
			chronytest.Need(t, v)
			for _, tc := range ntsAdds {
				t.Run(tc.cmd, func(t *testing.T) {
					theirs := chronycRequest(t, v, tc.cmd)
					name := strings.Fields(tc.cmd)[2]
					r := chronyctl.NewAddSource(chronyctl.TypeServer, name)
					require.NoError(t, r.SetOptions(tc.opts))

					served := &chronytest.Fixture{Exchanges: append([]chronytest.Exchange{
						{Note: tc.cmd, Request: theirs, Reply: chronytest.NullReply(theirs, 0)}}, empty.Exchanges...)}
					fake := chronytest.Serve(t, served)
					c, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: fake.Socket, Timeout: 200 * time.Millisecond, Attempts: 1})
					require.NoError(t, err)
					defer c.Close()
					_ = c.AddSource(context.Background(), r)
					reqs := fake.Requests()
					require.NotEmpty(t, reqs)
					ours, want := normalized(reqs[len(reqs)-1]), normalized(theirs)
					ours = append(ours, make([]byte, 372-len(ours))...)
					want = append(want, make([]byte, 372-len(want))...)
					require.Equal(t, want[:368], ours[:368], "ADD_SOURCE up to max_unreach")

					// The fields, at candm.h's offsets.
					be := binary.BigEndian
					require.Equal(t, r.NTSPort, be.Uint32(ours[324:]), "nts_port")
					require.Equal(t, r.CertSet, be.Uint32(ours[360:]), "cert_set")
					require.NotZero(t, be.Uint32(ours[352:])&chronyctl.FlagNTS, "REQ_ADDSRC_NTS")
				})
			}
		})
	}
}

// TestNTSOptionFields: the NTS words set the request's flag and fields,
// and a bad value is refused with the option's name.
func TestNTSOptionFields(t *testing.T) {
	r := chronyctl.NewAddSource(chronyctl.TypeServer, "192.0.2.1")
	require.Equal(t, uint32(4460), r.NTSPort, "chronyc's default NTS-KE port")
	require.NoError(t, r.SetOptions("iburst nts ntsport 4461 certset 2"))
	require.Equal(t, chronyctl.FlagOnline|chronyctl.FlagIBurst|chronyctl.FlagNTS, r.Flags)
	require.Equal(t, uint32(4461), r.NTSPort)
	require.Equal(t, uint32(2), r.CertSet)
	require.NoError(t, chronyctl.ValidateSourceOptions("iburst nts ntsport 4461 certset 2"))
	for opts, why := range map[string]string{
		"nts ntsport":        "ntsport needs a value",
		"nts ntsport x":      "ntsport: want an integer",
		"nts certset 1.5":    "certset: want an integer",
		"nts port 4460":      `unknown or unsupported chrony option "port"`,
		"nts\nserver evil":   "newline",
		"ntsport 4460 # nts": "'#'",
	} {
		require.ErrorContains(t, chronyctl.ValidateSourceOptions(opts), why, opts)
	}
}
