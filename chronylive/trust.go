package chronylive

import (
	"strconv"
)

// NTSTrust is the trust chronyd's NTS-KE client verifies a server's
// certificate with, for a source without a `certset` option (set 0), as
// chrony.conf(5) and tls_gnutls.c define it. A pre-flight of an NTS
// candidate must use the same trust, or it passes servers chronyd then
// rejects (prober.NTSOptions takes these three fields).
type NTSTrust struct {
	// TrustedCerts are the paths of the `ntstrustedcerts` directives of
	// set 0 (`ntstrustedcerts FILE` or `ntstrustedcerts 0 FILE`), in
	// order: PEM files, or directories whose every file chronyd loads
	// (gnutls_certificate_set_x509_trust_dir). Relative paths are as
	// written (chronyd runs from /). Other sets serve only sources with
	// `certset N` and are not here.
	TrustedCerts []string
	// NoSystemCert is `nosystemcert`: the system's trusted CAs are not in
	// set 0, only TrustedCerts are.
	NoSystemCert bool
	// NoCertTimeCheck is `nocerttimecheck N` with N > 0: chronyd skips the
	// certificates' activation and expiration checks while it has made
	// fewer than N clock updates since it started (nts_ke_session.c:
	// clock_updates < CNF_GetNoCertTimeCheck()), to let a machine without
	// an RTC start with a wrong clock. The count is not readable over the
	// command socket, so this says only that chronyd may skip the checks;
	// 0 (the default) means they are always made. The last directive wins,
	// as in chronyd.
	NoCertTimeCheck bool
	// NoCertTimeCheckUpdates is that N (0 without the directive).
	NoCertTimeCheckUpdates int
}

// parse reads one trust directive's arguments into t; it reports
// whether the directive was one. A malformed directive (chronyd refuses to
// start on it) is ignored.
func (t *NTSTrust) parse(directive string, args []string) bool {
	switch directive {
	case "ntstrustedcerts":
		// parse_ntstrustedcerts in conf.c: [set-ID] file|directory.
		switch len(args) {
		case 1:
			t.TrustedCerts = append(t.TrustedCerts, args[0])
		case 2:
			if set, err := strconv.ParseUint(args[0], 10, 32); err == nil && set == 0 {
				t.TrustedCerts = append(t.TrustedCerts, args[1])
			}
		}
	case "nosystemcert":
		t.NoSystemCert = true
	case "nocerttimecheck":
		if len(args) == 1 {
			if n, err := strconv.Atoi(args[0]); err == nil && n >= 0 {
				t.NoCertTimeCheck, t.NoCertTimeCheckUpdates = n > 0, n
			}
		}
	default:
		return false
	}
	return true
}
