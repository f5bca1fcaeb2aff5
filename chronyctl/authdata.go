package chronyctl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// REQ_AUTH_DATA and RPY_AUTH_DATA (candm.h, chrony 4.0+). The layouts are
// the same in 4.0 through 4.8:
//
//	REQ_AuthData: IPAddr ip_addr (20 bytes)
//	RPY_AuthData: u16 mode, u16 key_type, u32 key_id, u16 key_length,
//	              u16 ke_attempts, u32 last_ke_ago, u16 cookies,
//	              u16 cookie_length, u16 nak, u16 pad   (24 bytes)
const (
	cmdAuthData uint16 = 67
	rpyAuthData uint16 = 20

	authDataReplyLen = replyHeaderLen + 24 // 52
)

// The command and reply tables live in proto.go; AUTH_DATA joins them
// here. The request is padded to the reply's length (40 → 52), as
// pktlength.c requires.
func init() {
	commands[cmdAuthData] = commandInfo{"AUTH_DATA", authDataReplyLen, []uint16{rpyAuthData}, true}
	replyLen[rpyAuthData] = authDataReplyLen
}

// AuthMode is how chronyd authenticates a source's packets (RPY_AD_MD_*).
type AuthMode uint16

// Authentication modes.
const (
	AuthNone      AuthMode = 0 // RPY_AD_MD_NONE
	AuthSymmetric AuthMode = 1 // RPY_AD_MD_SYMMETRIC: a key from the keyfile
	AuthNTS       AuthMode = 2 // RPY_AD_MD_NTS
)

var authModeNames = []string{"none", "symmetric", "nts"}

// String returns "none", "symmetric", "nts" or "unknown(N)".
func (m AuthMode) String() string {
	if int(m) < len(authModeNames) {
		return authModeNames[m]
	}
	return fmt.Sprintf("unknown(%d)", uint16(m))
}

// Column returns chronyc authdata's Mode column: "-", "SK", "NTS" or "?".
func (m AuthMode) Column() string {
	switch m {
	case AuthNone:
		return "-"
	case AuthSymmetric:
		return "SK"
	case AuthNTS:
		return "NTS"
	}
	return "?"
}

// MarshalText implements encoding.TextMarshaler (JSON: "none", "symmetric",
// "nts", "unknown(N)").
func (m AuthMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *AuthMode) UnmarshalText(b []byte) error {
	var n uint16
	if _, err := fmt.Sscanf(string(b), "unknown(%d)", &n); err == nil {
		*m = AuthMode(n)
		return nil
	}
	v, err := parseName(b, authModeNames, "authentication mode")
	*m = AuthMode(v)
	return err
}

// NoKeyExchange is AuthData.LastKEAgo while an NTS source has no keys
// (no successful key exchange yet, or none since the last NAK);
// chronyc prints it as "-".
const NoKeyExchange = 0xFFFFFFFF

// AuthData is chronyd's authentication state of one NTP source
// (RPY_AUTH_DATA, chronyc authdata). Which fields are set depends on Mode
// (as captured from 4.3 and 4.6, testdata/chrony/replies-*-authdata.txt):
//
//   - AuthNone: all zero but LastKEAgo, which is NoKeyExchange.
//   - AuthSymmetric: KeyID is the key's number in the keyfile, KeyType
//     its hash or cipher (chrony's HSH_/CMC_ algorithm id, e.g. 2 = SHA1),
//     KeyLength the key's own length in bits (a 18-byte key: 144);
//     LastKEAgo is NoKeyExchange and the NTS counters are zero.
//   - AuthNTS: KeyID is the NTS context id (it changes with each key
//     exchange), KeyType the negotiated AEAD algorithm (IANA AEAD id:
//     15 = AEAD_AES_SIV_CMAC_256, the only one 4.3 offers; 4.6 prefers
//     30 = AEAD_AES_128_GCM_SIV), KeyLength the server-to-client key in
//     bits (256 and 128 for those; 0 without keys). Cookies are 100 bytes
//     from chronyd 4.3 and 64 from 4.6 as servers.
//
// The layout is the same in every 4.x release: a 4.6 reply carries nothing
// that a 4.3 reply does not.
type AuthData struct {
	Mode      AuthMode `json:"mode"`
	KeyID     uint32   `json:"key_id"`
	KeyType   uint16   `json:"key_type"`
	KeyLength uint16   `json:"key_length"` // bits
	// LastKEAgo is the seconds since the last successful NTS key exchange,
	// NoKeyExchange when there are no keys.
	LastKEAgo uint32 `json:"last_ke_ago_s"`
	// KEAttempts counts the key exchanges tried since the last one that
	// gave keys (chronyc "Atmp").
	KEAttempts uint16 `json:"ke_attempts"`
	// NAK is 1 when the server's last response was an NTS NAK (it did not
	// accept the cookie), after which chronyd makes a new key exchange.
	NAK          uint16 `json:"nak"`
	Cookies      uint16 `json:"cookies"`       // NTS cookies held (8 after a key exchange)
	CookieLength uint16 `json:"cookie_length"` // bytes of the next cookie to use
}

// HasNoKeys reports whether an NTS source has no keys yet.
func (a AuthData) HasNoKeys() bool { return a.Mode == AuthNTS && a.LastKEAgo == NoKeyExchange }

// AuthData returns chronyd's authentication state of the NTP source with
// address a, an IP or an unresolved source's ID# (REQ_AUTH_DATA). It fails
// with ErrNoSuchSource when chronyd has no NTP source there (reference
// clocks have no authdata), and with ErrUnauthorised over UDP from chrony 4.0
// to 4.6 (AUTH_DATA is PERMIT_AUTH in cmdmon.c: Unix socket only).
func (c *Client) AuthData(ctx context.Context, a Addr) (AuthData, error) {
	if a.IsUnspecified() {
		return AuthData{}, fmt.Errorf("authdata: %w", ErrBadAddress)
	}
	body := make([]byte, ipAddrLen)
	putIPAddr(body, a)
	reply, _, err := c.do(ctx, cmdAuthData, body, nil)
	if err != nil {
		return AuthData{}, fmt.Errorf("authdata %s: %w", a, err)
	}
	return decodeAuthData(reply)
}

// decodeAuthData decodes an RPY_AUTH_DATA datagram (header included).
// The transport has checked the header, status, type and length; this
// checks them again so that it stands alone (and can be fuzzed).
func decodeAuthData(b []byte) (AuthData, error) {
	h, ok := parseReplyHeader(b)
	switch {
	case !ok:
		return AuthData{}, fmt.Errorf("decoding chronyd's AUTH_DATA reply: not a reply header")
	case h.status != 0:
		return AuthData{}, &StatusError{Command: "AUTH_DATA", Status: h.status}
	case h.reply != rpyAuthData:
		return AuthData{}, &ReplyTypeError{Command: "AUTH_DATA", ReplyType: h.reply}
	case len(b) < authDataReplyLen:
		return AuthData{}, fmt.Errorf("decoding chronyd's AUTH_DATA reply: %d bytes, want %d", len(b), authDataReplyLen)
	}
	be := binary.BigEndian
	d := b[replyHeaderLen:]
	return AuthData{
		Mode:         AuthMode(be.Uint16(d[0:])),
		KeyType:      be.Uint16(d[2:]),
		KeyID:        be.Uint32(d[4:]),
		KeyLength:    be.Uint16(d[8:]),
		KEAttempts:   be.Uint16(d[10:]),
		LastKEAgo:    be.Uint32(d[12:]),
		Cookies:      be.Uint16(d[16:]),
		CookieLength: be.Uint16(d[18:]),
		NAK:          be.Uint16(d[20:]),
	}, nil
}

// SourceAuth is one NTP source with its authdata.
type SourceAuth struct {
	Source Source   `json:"source"` // SOURCE_DATA (and the name, when asked for)
	Auth   AuthData `json:"auth"`
}

// AuthDataList returns the authdata of every NTP source (server, peer and
// pool member, resolved or not; not reference clocks) in chronyd's order,
// as chronyc authdata -a reads them: SOURCE_DATA (and the given parts) per
// index, then AUTH_DATA by address, pipelined. A source that vanishes
// between the two reads the list again (bounded).
func (c *Client) AuthDataList(ctx context.Context, parts Parts) ([]SourceAuth, error) {
	var err error
	for range sourceListTries {
		var out []SourceAuth
		out, err = c.authDataOnce(ctx, parts)
		if !errors.Is(err, ErrNoSuchSource) {
			return out, err
		}
		c.log.Debug().Err(err).Msg("a source vanished during the authdata read; reading again")
	}
	return nil, err
}

func (c *Client) authDataOnce(ctx context.Context, parts Parts) ([]SourceAuth, error) {
	srcs, err := c.SourcesParts(ctx, parts)
	if err != nil {
		return nil, err
	}
	var out []SourceAuth
	for _, s := range srcs {
		if (s.Mode == ModeServer || s.Mode == ModePeer) && !s.Address.IsUnspecified() {
			out = append(out, SourceAuth{Source: s})
		}
	}
	errs := make([]error, len(out))
	jobs := make([]func(), len(out))
	for i := range out {
		jobs[i] = func() { out[i].Auth, errs[i] = c.AuthData(ctx, out[i].Source.Address) }
	}
	parallel(jobs)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
