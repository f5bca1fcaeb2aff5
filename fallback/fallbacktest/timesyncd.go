package fallbacktest

import (
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/ntp-optimizer/ntp-optimizer/fallback/internal/tswire"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
)

const (
	timesyncPath  = "/org/freedesktop/timesync1"
	timesyncIface = "org.freedesktop.timesync1.Manager"
)

// NTPMessage is timesyncd's NTPMessage property, signature
// (uuuuittayttttbtt).
type NTPMessage = tswire.NTPMessage

// Reply says how a server answers the fake timesyncd: ok false for no
// answer; stratum and leap of the answer otherwise.
type Reply struct {
	OK      bool
	Stratum uint32
	Leap    uint32
}

// Timesyncd is a fake org.freedesktop.timesync1: its properties, and
// SetRuntimeNTPServers (left out with NoRuntime, as before systemd 251).
// When its server lists change (SetRuntimeNTPServers, or Restart), it
// "contacts" them in timesyncd's order (runtime, else system, else
// fallback) and takes the first whose Answer is OK.
type Timesyncd struct {
	conn    *dbus.Conn
	props   *prop.Properties
	mu      sync.Mutex
	answer  func(server string) Reply
	system  func() []string
	runtime []string
}

// NewTimesyncd exports a fake timesyncd on the bus at address.
func NewTimesyncd(t testing.TB, address string, runtimeMethod bool) *Timesyncd {
	t.Helper()
	f := &Timesyncd{conn: systemdtest.Connect(t, address)}
	props := prop.Map{timesyncIface: {
		"ServerName":         {Value: "", Emit: prop.EmitTrue},
		"SystemNTPServers":   {Value: []string{}, Emit: prop.EmitConst},
		"LinkNTPServers":     {Value: []string{}, Emit: prop.EmitTrue},
		"FallbackNTPServers": {Value: []string{"0.debian.pool.ntp.org"}, Emit: prop.EmitConst},
		"NTPMessage":         {Value: NTPMessage{RefID: []byte{0, 0, 0, 0}}, Emit: prop.EmitTrue},
	}}
	if runtimeMethod {
		props[timesyncIface]["RuntimeNTPServers"] = &prop.Prop{Value: []string{}, Emit: prop.EmitTrue}
	}
	p, err := prop.Export(f.conn, timesyncPath, props)
	if err != nil {
		t.Fatal(err)
	}
	f.props = p
	if runtimeMethod {
		if err := f.conn.ExportMethodTable(map[string]any{"SetRuntimeNTPServers": f.setRuntime}, timesyncPath, timesyncIface); err != nil {
			t.Fatal(err)
		}
	}
	systemdtest.Own(t, f.conn, "org.freedesktop.timesync1")
	return f
}

// SetAnswer sets how servers answer; nil (the default) answers every one
// with stratum 2.
func (f *Timesyncd) SetAnswer(a func(server string) Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

// SetSystem sets the function returning the NTP= list of the
// configuration files, read on Restart.
func (f *Timesyncd) SetSystem(s func() []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.system = s
}

func (f *Timesyncd) setRuntime(servers []string) *dbus.Error {
	f.mu.Lock()
	f.runtime = append([]string{}, servers...)
	f.mu.Unlock()
	f.props.SetMust(timesyncIface, "RuntimeNTPServers", append([]string{}, servers...))
	f.reselect()
	return nil
}

// Restart is what a restart of systemd-timesyncd.service does: runtime
// servers are forgotten, the files are read again, a server is chosen.
func (f *Timesyncd) Restart() {
	f.mu.Lock()
	f.runtime = nil
	var system []string
	if f.system != nil {
		system = f.system()
	}
	f.mu.Unlock()
	if _, err := f.props.Get(timesyncIface, "RuntimeNTPServers"); err == nil {
		f.props.SetMust(timesyncIface, "RuntimeNTPServers", []string{})
	}
	f.props.SetMust(timesyncIface, "SystemNTPServers", append([]string{}, system...))
	f.reselect()
}

func (f *Timesyncd) reselect() {
	f.mu.Lock()
	list := f.runtime
	if len(list) == 0 {
		list, _ = f.props.GetMust(timesyncIface, "SystemNTPServers").([]string)
	}
	if len(list) == 0 {
		list, _ = f.props.GetMust(timesyncIface, "FallbackNTPServers").([]string)
	}
	answer := f.answer
	f.mu.Unlock()
	for _, s := range list {
		r := Reply{OK: true, Stratum: 2}
		if answer != nil {
			r = answer(s)
		}
		if !r.OK {
			continue
		}
		now := uint64(time.Now().UnixMicro())
		f.props.SetMust(timesyncIface, "ServerName", s)
		f.props.SetMust(timesyncIface, "NTPMessage", NTPMessage{
			Leap: r.Leap, Version: 4, Mode: 4, Stratum: r.Stratum, Precision: -24,
			RootDelay: 1000, RootDispersion: 500, RefID: []byte{192, 0, 2, 1},
			Origin: now - 300, Recv: now - 200, Trans: now - 100, Dest: now, PacketCount: 1,
		})
		return
	}
	f.props.SetMust(timesyncIface, "ServerName", "")
}
