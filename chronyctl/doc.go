// Package chronyctl is a client for chronyd's command and monitoring
// protocol (cmdmon, protocol version 6, candm.h in chrony's source), spoken
// over chronyd's Unix command socket or, for the read-only requests, its UDP
// command port.
//
// Reads (N_SOURCES, SOURCE_DATA, SOURCESTATS, NTP_DATA, NTP_SOURCE_NAME,
// SELECT_DATA, TRACKING, ACTIVITY) are decoded by
// github.com/facebook/time/ntp/chrony; this package supplies the transport
// under it (random sequence numbers, reply validation, bounded retries,
// pipelining) and keeps chronyd's status code, which the library flattens.
// Sources merges the per-source replies into one Source value: state, reach
// register, stratum and offsets (sourcedata), standard deviation
// (sourcestats), delay, root delay and dispersion and leap (ntpdata),
// selection state and options (selectdata) and the configured name.
//
// Writes are implemented here from the request layouts in candm.h:
// AddSource (with chronyc's defaults, see NewAddSource), DeleteSource, Burst,
// Online, Offline, Refresh, ReloadSources and ModifySelectOpts (chrony 4.4
// and later). A retransmitted ADD_SOURCE or DEL_SOURCE is not idempotent in
// chronyd, so the client checks the source list before retransmitting and
// when a retransmission is answered "already present" or "no such source".
//
// Every chronyd status code maps to a sentinel error (ErrSourceExists,
// ErrNoSuchSource, ErrUnsupported, ...) that errors.Is matches on the typed
// *StatusError; messages carry chronyc's "NNN text" and a hint an operator
// can act on.
package chronyctl
