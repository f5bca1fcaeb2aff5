package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Body limits of the two services: Discord rejects content over 2000
// characters; Slack advises text under 4000.
const (
	maxDiscordContent = 2000
	maxSlackText      = 3900
	// maxErrorBody is how much of a refusal's body goes into the error.
	maxErrorBody = 200
)

// WebhookBody is the JSON posted to the webhook: Slack reads text, Discord
// reads content, both read username and ignore the other keys.
type WebhookBody struct {
	Text     string `json:"text"`
	Content  string `json:"content"`
	Username string `json:"username"`
	// Event is the message kind, for other receivers.
	Event string `json:"event"`
	Host  string `json:"host"`
}

type webhookSender struct {
	cfg    WebhookConfig
	client *http.Client
}

func newWebhookSender(cfg WebhookConfig, client *http.Client) *webhookSender {
	if client == nil {
		client = &http.Client{}
	}
	return &webhookSender{cfg: cfg, client: client}
}

// Send posts m and wants a 2xx answer, within the configured timeout or
// ctx's deadline, whichever comes first.
func (s *webhookSender) Send(ctx context.Context, m Message) error {
	text := m.Subject + "\n\n" + m.Text
	body, err := json.Marshal(WebhookBody{
		Text:     truncate(text, maxSlackText),
		Content:  truncate(text, maxDiscordContent),
		Username: "ntp-optimizer",
		Event:    string(m.Kind),
		Host:     m.Host,
	})
	if err != nil {
		return err
	}
	u, err := url.Parse(s.cfg.URL)
	if err != nil {
		return fmt.Errorf("webhook url: %w", err)
	}
	where := safeURL(u)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ntp-optimizer")
	resp, err := s.client.Do(req)
	if err != nil {
		// The url.Error names the full URL, secret included: keep only
		// its cause.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s answered %s: %q", where, resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
