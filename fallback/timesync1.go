package fallback

import (
	"context"
	"errors"
	"fmt"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"github.com/ntp-optimizer/ntp-optimizer/fallback/internal/tswire"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// org.freedesktop.timesync1 names (systemd's timesyncd-bus.c).
const (
	timesyncBusName   = "org.freedesktop.timesync1"
	timesyncPath      = godbus.ObjectPath("/org/freedesktop/timesync1")
	timesyncInterface = "org.freedesktop.timesync1.Manager"
)

// ErrUnsupported is returned when timesyncd lacks a D-Bus method or
// property (SetRuntimeNTPServers needs systemd 251 or later).
var ErrUnsupported = errors.New("not supported by this systemd-timesyncd")

// TimesyncStatus is timesyncd's state as its D-Bus API reports it.
type TimesyncStatus struct {
	ServerName      string
	RuntimeServers  []string
	SystemServers   []string
	LinkServers     []string
	FallbackServers []string
	// From NTPMessage, the last reply from ServerName.
	Leap, Version, Mode, Stratum uint32
	RootDelay, RootDispersion    time.Duration
	TransmitTime, DestTime       time.Time
	Spike                        bool
	PacketCount                  uint64
	Jitter                       time.Duration
}

// Timesync1 talks to systemd-timesyncd over D-Bus (org.freedesktop.timesync1).
type Timesync1 struct {
	conn *godbus.Conn
	obj  godbus.BusObject
}

// NewTimesync1 connects to timesyncd on the system bus.
func NewTimesync1() (*Timesync1, error) {
	c, err := godbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("connect to the D-Bus system bus: %w", err)
	}
	return newTimesync1(c), nil
}

// NewTimesync1At connects to timesyncd (or a fake speaking its protocol)
// on the bus at address.
func NewTimesync1At(address string) (*Timesync1, error) {
	c, err := systemd.Dial(context.Background(), address)
	if err != nil {
		return nil, fmt.Errorf("connect to D-Bus at %s: %w", address, err)
	}
	return newTimesync1(c), nil
}

func newTimesync1(c *godbus.Conn) *Timesync1 {
	return &Timesync1{conn: c, obj: c.Object(timesyncBusName, timesyncPath)}
}

// Close closes the connection.
func (t *Timesync1) Close() error { return t.conn.Close() }

// SetRuntimeServers replaces timesyncd's runtime server list, which it
// prefers to the configured ones, effective at once.
func (t *Timesync1) SetRuntimeServers(ctx context.Context, names []string) error {
	if names == nil {
		names = []string{}
	}
	err := t.obj.CallWithContext(ctx, timesyncInterface+".SetRuntimeNTPServers", 0, names).Err
	if systemd.IsError(err, "org.freedesktop.DBus.Error.UnknownMethod") {
		return fmt.Errorf("SetRuntimeNTPServers: %w", ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("SetRuntimeNTPServers: %w", err)
	}
	return nil
}

// RuntimeServers returns the runtime server list.
func (t *Timesync1) RuntimeServers(ctx context.Context) ([]string, error) {
	var v godbus.Variant
	err := t.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, timesyncInterface, "RuntimeNTPServers").Store(&v)
	if systemd.IsError(err, "org.freedesktop.DBus.Error.UnknownProperty", "org.freedesktop.DBus.Error.InvalidArgs",
		"org.freedesktop.DBus.Properties.Error.PropertyNotFound") {
		return nil, fmt.Errorf("RuntimeNTPServers: %w", ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("RuntimeNTPServers: %w", err)
	}
	s, _ := v.Value().([]string)
	return s, nil
}

// Status reads all of timesyncd's properties.
func (t *Timesync1) Status(ctx context.Context) (*TimesyncStatus, error) {
	var props map[string]godbus.Variant
	err := t.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, timesyncInterface).Store(&props)
	if err != nil {
		return nil, fmt.Errorf("timesyncd status over D-Bus: %w", err)
	}
	st := &TimesyncStatus{}
	strs := func(k string) []string { s, _ := props[k].Value().([]string); return s }
	st.ServerName, _ = props["ServerName"].Value().(string)
	st.RuntimeServers = strs("RuntimeNTPServers")
	st.SystemServers = strs("SystemNTPServers")
	st.LinkServers = strs("LinkNTPServers")
	st.FallbackServers = strs("FallbackNTPServers")
	if v, ok := props["NTPMessage"]; ok {
		if err := decodeNTPMessage(v, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// decodeNTPMessage reads the NTPMessage property (tswire.NTPMessage).
func decodeNTPMessage(v godbus.Variant, st *TimesyncStatus) error {
	var m tswire.NTPMessage
	if err := godbus.Store([]any{v.Value()}, &m); err != nil {
		return fmt.Errorf("NTPMessage %s: %w", v.Signature(), err)
	}
	st.Leap, st.Version, st.Mode, st.Stratum = m.Leap, m.Version, m.Mode, m.Stratum
	st.RootDelay = time.Duration(m.RootDelay) * time.Microsecond
	st.RootDispersion = time.Duration(m.RootDispersion) * time.Microsecond
	if m.Trans != 0 {
		st.TransmitTime = time.UnixMicro(int64(m.Trans))
	}
	if m.Dest != 0 {
		st.DestTime = time.UnixMicro(int64(m.Dest))
	}
	st.Spike, st.PacketCount = m.Spike, m.PacketCount
	st.Jitter = time.Duration(m.Jitter) * time.Microsecond
	return nil
}
