package nspawntest

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// InNetNS runs f on an OS thread inside the container's network
// namespace, then moves the thread back. Sockets f opens stay in the
// container's namespace for their whole life, whichever goroutine serves
// them later: an ntplab.Lab started in f serves the container only.
func (c *Container) InNetNS(f func() error) error {
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", c.pid))
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering %s's network namespace: %w", c.Name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so the runtime ends it with the
		// goroutine instead of reusing it in the wrong namespace.
		return fmt.Errorf("leaving %s's network namespace: %w", c.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// LabLink is the interface AddAddress puts addresses on: one end of a
// veth pair made inside the container's network namespace (gone with it).
// It is not a loopback device: ntpd sends to servers only from an address
// of a non-loopback interface.
const LabLink = "lab0"

// AddAddress adds a host address (/32 or /128) to LabLink in the
// container's private network, for servers started with InNetNS and for
// daemons to listen on.
func (c *Container) AddAddress(a netip.Addr) {
	c.t.Helper()
	c.linkOnce.Do(func() {
		for _, args := range [][]string{
			{"ip", "link", "add", LabLink, "type", "veth", "peer", "name", "lab1"},
			{"ip", "link", "set", LabLink, "up"},
			{"ip", "link", "set", "lab1", "up"},
		} {
			if out, err := c.nsenterNet(args...); err != nil {
				c.linkErr = fmt.Errorf("%v: %w: %s", args, err, out)
				return
			}
		}
	})
	if c.linkErr != nil {
		c.t.Fatalf("nspawntest: %s in %s: %v", LabLink, c.Name, c.linkErr)
	}
	bits := 32
	if a.Is6() {
		bits = 128
	}
	out, err := c.nsenterNet("ip", "addr", "add", netip.PrefixFrom(a, bits).String(), "dev", LabLink)
	if err != nil {
		c.t.Fatalf("nspawntest: adding %s to %s's %s: %v\n%s", a, c.Name, LabLink, err, out)
	}
}
