// Package rxtime reads the kernel's receive timestamps of UDP datagrams
// (SO_TIMESTAMPNS), so a receive time does not include the reader's own
// scheduling delay. Both the lab servers and the prober use it.
package rxtime

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// OOBSize is enough out-of-band space for one timestamp control message.
const OOBSize = 128

// Enable asks the kernel for a receive timestamp with every datagram.
func Enable(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("enabling receive timestamps: %w", serr)
	}
	return nil
}

// FromOOB returns the kernel receive timestamp in oob (from ReadMsgUDP),
// or the current time if there is none.
func FromOOB(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}
