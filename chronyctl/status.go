package chronyctl

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per chronyd status code (candm.h STT_*). A
// *StatusError matches its code's sentinel with errors.Is.
var (
	ErrFailed               = errors.New("chronyd: failure")                      // 500, STT_FAILED
	ErrUnauthorised         = errors.New("chronyd: not authorised")               // 501, STT_UNAUTH
	ErrInvalid              = errors.New("chronyd: invalid command")              // 502, STT_INVALID
	ErrNoSuchSource         = errors.New("chronyd: no such source")               // 503, STT_NOSUCHSOURCE
	ErrInvalidTimestamp     = errors.New("chronyd: duplicate or stale logon")     // 504, STT_INVALIDTS
	ErrNotEnabled           = errors.New("chronyd: facility not enabled")         // 505, STT_NOTENABLED
	ErrBadSubnet            = errors.New("chronyd: bad subnet")                   // 507, STT_BADSUBNET
	ErrAccessAllowed        = errors.New("chronyd: access allowed")               // 208, STT_ACCESSALLOWED
	ErrAccessDenied         = errors.New("chronyd: access denied")                // 209, STT_ACCESSDENIED
	ErrNoHostAccess         = errors.New("chronyd: no command access from host")  // 510, STT_NOHOSTACCESS
	ErrSourceExists         = errors.New("chronyd: source already present")       // 511, STT_SOURCEALREADYKNOWN
	ErrTooManySources       = errors.New("chronyd: too many sources")             // 512, STT_TOOMANYSOURCES
	ErrNoRTC                = errors.New("chronyd: RTC driver not running")       // 513, STT_NORTC
	ErrBadRTCFile           = errors.New("chronyd: cannot write RTC parameters")  // 514, STT_BADRTCFILE
	ErrInactive             = errors.New("chronyd: client logging not active")    // 519, STT_INACTIVE
	ErrBadSample            = errors.New("chronyd: sample index out of range")    // 516, STT_BADSAMPLE
	ErrInvalidAddressFamily = errors.New("chronyd: invalid address family")       // 515, STT_INVALIDAF
	ErrBadPacketVersion     = errors.New("chronyd: protocol version mismatch")    // 517, STT_BADPKTVERSION
	ErrBadPacketLength      = errors.New("chronyd: packet length mismatch")       // 518, STT_BADPKTLENGTH
	ErrInvalidName          = errors.New("chronyd: invalid name")                 // 521, STT_INVALIDNAME
	ErrUnknownStatus        = errors.New("chronyd: unexpected status")            // 520, anything else
	ErrUnsupported          = errors.New("chronyd does not support this request") // 502 for a request newer than the daemon
)

// statusInfo is what chronyc prints for a status, the sentinel, and a hint.
type statusInfo struct {
	code int    // chronyc's three-digit code
	text string // chronyc's text
	err  error
	hint string
}

var statuses = map[uint16]statusInfo{
	1:  {500, "Failure", ErrFailed, "chronyd could not carry out the request; its log says why"},
	2:  {501, "Not authorised", ErrUnauthorised, "this request needs chronyd's Unix command socket, which only root (or chronyd's user) can use"},
	3:  {502, "Invalid command", ErrInvalid, "this chronyd does not know the request (it is older than the feature)"},
	4:  {503, "No such source", ErrNoSuchSource, "chronyd has no source with that address"},
	5:  {504, "Duplicate or stale logon detected", ErrInvalidTimestamp, ""},
	6:  {505, "Facility not enabled in daemon", ErrNotEnabled, ""},
	7:  {507, "Bad subnet", ErrBadSubnet, ""},
	8:  {208, "Access allowed", ErrAccessAllowed, ""},
	9:  {209, "Access denied", ErrAccessDenied, ""},
	10: {510, "No command access from this host", ErrNoHostAccess, "allow it with cmdallow in chrony.conf"},
	11: {511, "Source already present", ErrSourceExists, "chronyd already has a source with that IP address (whatever its port or mode)"},
	12: {512, "Too many sources present", ErrTooManySources, "delete unused sources first"},
	13: {513, "RTC driver not running", ErrNoRTC, ""},
	14: {514, "Can't write RTC parameters", ErrBadRTCFile, ""},
	15: {519, "Client logging is not active in the daemon", ErrInactive, ""},
	16: {516, "Sample index out of range", ErrBadSample, ""},
	17: {515, "Invalid address family", ErrInvalidAddressFamily, "the address does not match the ipv4/ipv6 restriction"},
	18: {517, "Protocol version mismatch", ErrBadPacketVersion, "chronyd speaks another command protocol version"},
	19: {518, "Packet length mismatch", ErrBadPacketLength, "chronyd expects another packet layout for this request (a release ntp-optimizer does not know?)"},
	21: {521, "Invalid name", ErrInvalidName, "chronyd refused the name: it must be a hostname or IP address, printable, without spaces"},
}

// StatusError is a request chronyd answered with a status other than
// success. errors.Is matches the status's sentinel (ErrNoSuchSource, ...);
// a 502 also matches ErrUnsupported.
type StatusError struct {
	Command string // candm.h request name, e.g. "ADD_SOURCE"
	Status  uint16 // candm.h STT_* value
}

// Code returns chronyc's three-digit code for the status (e.g. 503).
func (e *StatusError) Code() int { return statusOf(e.Status).code }

func (e *StatusError) Error() string {
	si := statusOf(e.Status)
	msg := fmt.Sprintf("chronyd answered %s with %d %s", e.Command, si.code, si.text)
	if si.hint != "" {
		msg += ": " + si.hint
	}
	return msg
}

// Unwrap returns the status's sentinel error.
func (e *StatusError) Unwrap() error { return statusOf(e.Status).err }

// Is makes a 502 (unknown command) match ErrUnsupported as well.
func (e *StatusError) Is(target error) bool {
	return target == ErrUnsupported && e.Status == 3
}

func statusOf(status uint16) statusInfo {
	if si, ok := statuses[status]; ok {
		return si
	}
	return statusInfo{520, fmt.Sprintf("Got unexpected error from daemon (status %d)", status), ErrUnknownStatus, ""}
}

// ErrUnexpectedReply is matched by *ReplyTypeError.
var ErrUnexpectedReply = errors.New("unexpected reply from chronyd")

// ReplyTypeError is a successful answer whose reply type this package does
// not expect for the request, e.g. from a chronyd release newer than it.
type ReplyTypeError struct {
	Command   string
	ReplyType uint16
}

func (e *ReplyTypeError) Error() string {
	return fmt.Sprintf("chronyd answered %s with reply type %d, which ntp-optimizer does not know for it (a newer chronyd release?)", e.Command, e.ReplyType)
}

// Unwrap returns ErrUnexpectedReply.
func (e *ReplyTypeError) Unwrap() error { return ErrUnexpectedReply }
