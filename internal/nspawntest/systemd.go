package nspawntest

import (
	"strings"
	"time"
)

// poll is the pause between two checks of a condition inside.
const poll = 100 * time.Millisecond

// WaitRunning waits until systemd inside reports the system "running" or
// "degraded" (then it logs the failed units), and fails the test after
// timeout. It returns the state.
func (c *Container) WaitRunning(timeout time.Duration) string {
	c.t.Helper()
	var state string
	deadline := time.Now().Add(timeout)
	for {
		out, _ := c.Exec("systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		switch state {
		case "running":
			return state
		case "degraded":
			failed, _ := c.Exec("systemctl", "--failed", "--no-legend", "--plain")
			c.t.Logf("nspawntest: %s is degraded; failed units:\n%s", c.Name, failed)
			return state
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nspawntest: %s not up after %s (is-system-running: %q):\n%s", c.Name, timeout, state, c.Log())
		}
		select {
		case <-c.exited:
			c.t.Fatalf("nspawntest: %s exited during the boot:\n%s", c.Name, c.Log())
		case <-time.After(poll):
		}
	}
}

// Journal returns the messages (journalctl -o cat) of this boot, of unit
// when it is not "" and at priority and above when it is not "" ("err",
// "warning", "3" ...).
func (c *Container) Journal(unit, priority string) string {
	c.t.Helper()
	args := []string{"journalctl", "--no-pager", "-q", "-b", "-o", "cat"}
	if unit != "" {
		args = append(args, "-u", unit)
	}
	if priority != "" {
		args = append(args, "-p", priority)
	}
	out, err := c.Exec(args...)
	if err != nil {
		c.t.Fatalf("in %s: %s: %v\n%s", c.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// Eventually waits until cond holds, checking every 100 ms, and fails the
// test with msg and the last detail cond returned after timeout.
func (c *Container) Eventually(timeout time.Duration, msg string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("in %s: %s (after %s):\n%s", c.Name, msg, timeout, detail)
		}
		time.Sleep(poll)
	}
}

// ActiveState is systemctl show -P ActiveState of unit ("active",
// "inactive", "failed" ...).
func (c *Container) ActiveState(unit string) string {
	out, _ := c.Exec("systemctl", "show", "-P", "ActiveState", unit)
	return strings.TrimSpace(out)
}

// WaitActive waits until unit is active and fails the test with its
// status after timeout.
func (c *Container) WaitActive(unit string, timeout time.Duration) {
	c.t.Helper()
	c.Eventually(timeout, unit+" is not active", func() (bool, string) {
		if c.ActiveState(unit) == "active" {
			return true, ""
		}
		st, _ := c.Exec("systemctl", "status", "--no-pager", "-l", unit)
		return false, st
	})
}
