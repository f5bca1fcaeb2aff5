package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

const webhookSecret = "/services/T000/B000/XXXXsecretXXXX"

func webhookNotifier(t *testing.T, url string, timeout time.Duration) *Notifier {
	t.Helper()
	cfg := defaultConfig()
	cfg.Webhook.Enabled = true
	cfg.Webhook.URL = url + webhookSecret
	cfg.Webhook.Timeout = timeout
	require.NoError(t, cfg.Validate())
	n, err := New(cfg, Options{Clock: clocktest.NewStepper(testTime)})
	require.NoError(t, err)
	return n
}

func TestWebhookBody(t *testing.T) {
	type request struct {
		method, path, contentType string
		body                      []byte
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), b}
		w.WriteHeader(http.StatusNoContent) // Discord answers 204
	}))
	defer srv.Close()

	n := webhookNotifier(t, srv.URL, 5*time.Second)
	_, err := n.Notify(context.Background(), State{}, sampleChange())
	require.NoError(t, err)
	r := <-got
	require.Equal(t, http.MethodPost, r.method)
	require.Equal(t, webhookSecret, r.path)
	require.Equal(t, "application/json", r.contentType)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(r.body, &raw))
	for _, k := range []string{"text", "content", "username"} {
		require.IsType(t, "", raw[k], "key %q must be a string (Slack reads text, Discord content)", k)
	}
	var b WebhookBody
	require.NoError(t, json.Unmarshal(r.body, &b))
	require.Equal(t, b.Text, b.Content, "short messages are the same for both services")
	require.True(t, strings.HasPrefix(b.Text, "[ntp-optimizer] client7.example.test: NTP sources changed (1 added, 1 removed)\n\n"))
	require.Contains(t, b.Text, "+ time.example.test (127.0.0.12)  score 94.1")
	require.Equal(t, "change", b.Event)
	require.Equal(t, "ntp-optimizer", b.Username)
}

func TestWebhookLongMessageTruncated(t *testing.T) {
	o := sampleChange()
	for i := 0; i < 200; i++ {
		o.Selected = append(o.Selected, Server{Name: "server-with-a-long-name.example.test", Score: 50})
	}
	body := make(chan WebhookBody, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b WebhookBody
		_ = json.NewDecoder(r.Body).Decode(&b)
		body <- b
	}))
	defer srv.Close()
	_, err := webhookNotifier(t, srv.URL, 5*time.Second).Notify(context.Background(), State{}, o)
	require.NoError(t, err)
	b := <-body
	require.Len(t, []rune(b.Content), maxDiscordContent)
	require.Len(t, []rune(b.Text), maxSlackText)
	require.True(t, strings.HasSuffix(b.Content, "…"))
}

func TestWebhookFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		errHas  string
	}{
		{
			name: "non-2xx",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "invalid_token", http.StatusForbidden)
			},
			timeout: 5 * time.Second,
			errHas:  `answered 403 Forbidden: "invalid_token"`,
		},
		{
			name: "redirect is not success",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNotModified)
			},
			timeout: 5 * time.Second,
			errHas:  "answered 304",
		},
		{
			name: "server hangs: bounded by the timeout",
			handler: func(_ http.ResponseWriter, r *http.Request) {
				hang(r)
			},
			timeout: 300 * time.Millisecond,
			errHas:  "context deadline exceeded",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			n := webhookNotifier(t, srv.URL, tc.timeout)
			start := time.Now()
			st, err := n.Notify(context.Background(), State{}, Outcome{Failure: &Failure{Kind: ErrorRolledBack, Err: errFake("no selected source after 20s")}})
			require.Less(t, time.Since(start), 5*time.Second)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.errHas)
			require.NotContains(t, err.Error(), "secret", "the webhook's secret path must not reach the log")
			require.False(t, st.Channels[ChannelWebhook].OweRecovery)
		})
	}
}

func TestWebhookContextCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hang(r)
	}))
	defer srv.Close()
	n := webhookNotifier(t, srv.URL, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := n.Notify(ctx, State{}, sampleChange())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}

// hang reads the request (the server notices a closed connection only once
// the body is read) and waits until the client gives up, at most 10 s.
func hang(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}
