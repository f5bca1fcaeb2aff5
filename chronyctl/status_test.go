package chronyctl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusErrors(t *testing.T) {
	all := []error{ErrFailed, ErrUnauthorised, ErrInvalid, ErrNoSuchSource, ErrInvalidTimestamp, ErrNotEnabled,
		ErrBadSubnet, ErrAccessAllowed, ErrAccessDenied, ErrNoHostAccess, ErrSourceExists, ErrTooManySources,
		ErrNoRTC, ErrBadRTCFile, ErrInactive, ErrBadSample, ErrInvalidAddressFamily, ErrBadPacketVersion,
		ErrBadPacketLength, ErrInvalidName, ErrUnknownStatus}
	tests := []struct {
		status uint16
		want   error
		text   string
	}{
		{1, ErrFailed, "500 Failure"},
		{2, ErrUnauthorised, "501 Not authorised"},
		{3, ErrInvalid, "502 Invalid command"},
		{4, ErrNoSuchSource, "503 No such source"},
		{5, ErrInvalidTimestamp, "504 Duplicate or stale logon detected"},
		{6, ErrNotEnabled, "505 Facility not enabled in daemon"},
		{7, ErrBadSubnet, "507 Bad subnet"},
		{8, ErrAccessAllowed, "208 Access allowed"},
		{9, ErrAccessDenied, "209 Access denied"},
		{10, ErrNoHostAccess, "510 No command access from this host"},
		{11, ErrSourceExists, "511 Source already present"},
		{12, ErrTooManySources, "512 Too many sources present"},
		{13, ErrNoRTC, "513 RTC driver not running"},
		{14, ErrBadRTCFile, "514 Can't write RTC parameters"},
		{15, ErrInactive, "519 Client logging is not active in the daemon"},
		{16, ErrBadSample, "516 Sample index out of range"},
		{17, ErrInvalidAddressFamily, "515 Invalid address family"},
		{18, ErrBadPacketVersion, "517 Protocol version mismatch"},
		{19, ErrBadPacketLength, "518 Packet length mismatch"},
		{20, ErrUnknownStatus, "520 Got unexpected error from daemon (status 20)"},
		{21, ErrInvalidName, "521 Invalid name"},
		{999, ErrUnknownStatus, "520 Got unexpected error from daemon (status 999)"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			err := error(&StatusError{Command: "ADD_SOURCE", Status: tc.status})
			require.Contains(t, err.Error(), "chronyd answered ADD_SOURCE with "+tc.text)
			for _, s := range all {
				require.Equal(t, s == tc.want, errors.Is(err, s), "errors.Is(%v)", s)
			}
			require.Equal(t, tc.status == 3, errors.Is(err, ErrUnsupported))
			wrapped := fmt.Errorf("add x: %w", err)
			require.ErrorIs(t, wrapped, tc.want)
		})
	}
}
