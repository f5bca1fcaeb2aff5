package notify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// goodConfig returns a valid configuration with both channels enabled.
func goodConfig() Config {
	c := defaultConfig()
	c.Email.Enabled = true
	c.Email.SMTPServer = "smtp.example.test"
	c.Email.FromAddress = "ntp-optimizer@example.test"
	c.Email.ToAddresses = []string{"admin@example.test"}
	c.Email.Username = "u"
	c.Webhook.Enabled = true
	c.Webhook.URL = "https://hooks.example.test/services/x"
	return c
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		errHas string
	}{
		{name: "defaults (all off)", mod: func(c *Config) { *c = defaultConfig() }},
		{name: "good", mod: func(*Config) {}},
		{name: "disabled email is not checked", mod: func(c *Config) { c.Email.Enabled = false; c.Email.SMTPServer = "" }},
		{name: "implicit tls", mod: func(c *Config) { c.Email.TLS = TLSImplicit; c.Email.SMTPPort = 465 }},
		{name: "loopback http webhook", mod: func(c *Config) { c.Webhook.URL = "http://127.0.0.1:9000/hook" }},
		{name: "no server", mod: func(c *Config) { c.Email.SMTPServer = "" }, errHas: "notifications.email.smtp_server"},
		{name: "server with port", mod: func(c *Config) { c.Email.SMTPServer = "smtp.example.test:25" }, errHas: "smtp_server"},
		{name: "port", mod: func(c *Config) { c.Email.SMTPPort = 0 }, errHas: "smtp_port is 0; it must be from 1 to 65535"},
		{name: "tls mode", mod: func(c *Config) { c.Email.TLS = "ssl" }, errHas: "want starttls, tls or none"},
		{name: "clear text with password", mod: func(c *Config) { c.Email.TLS = TLSNone }, errHas: "clear text"},
		{name: "clear text without auth", mod: func(c *Config) { c.Email.TLS = TLSNone; c.Email.Username = "" }},
		{name: "from", mod: func(c *Config) { c.Email.FromAddress = "not an address" }, errHas: "from_address"},
		{name: "no recipients", mod: func(c *Config) { c.Email.ToAddresses = nil }, errHas: "to_addresses has 0"},
		{name: "bad recipient", mod: func(c *Config) { c.Email.ToAddresses = []string{"a@example.test", "b@"} }, errHas: "to_addresses[1]"},
		{name: "password without user", mod: func(c *Config) { c.Email.Username = ""; c.Email.Password = "x" }, errHas: "username is empty"},
		{name: "both passwords", mod: func(c *Config) { c.Email.Password = "x"; c.Email.PasswordFile = "/f" }, errHas: "both set"},
		{name: "email timeout", mod: func(c *Config) { c.Email.Timeout = 0 }, errHas: "email.timeout"},
		{name: "repeat_after too short", mod: func(c *Config) { c.RepeatAfter = time.Second }, errHas: "repeat_after is 1s; it must be from 1m0s to 720h0m0s"},
		{name: "webhook http elsewhere", mod: func(c *Config) { c.Webhook.URL = "http://hooks.example.test/services/secret" }, errHas: "only https://"},
		{name: "webhook scheme", mod: func(c *Config) { c.Webhook.URL = "ftp://hooks.example.test/x" }, errHas: "only https://"},
		{name: "webhook no host", mod: func(c *Config) { c.Webhook.URL = "https:///x" }, errHas: "no host"},
		{name: "webhook timeout", mod: func(c *Config) { c.Webhook.Timeout = time.Hour }, errHas: "webhook.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := goodConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrConfig)
			require.Contains(t, err.Error(), tc.errHas)
			require.NotContains(t, err.Error(), "secret", "a webhook URL's path is its secret")
		})
	}
}
