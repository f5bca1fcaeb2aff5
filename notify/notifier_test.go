package notify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// fakeSender records messages and fails while fail is set.
type fakeSender struct {
	sent []Message
	fail bool
}

func (f *fakeSender) Send(_ context.Context, m Message) error {
	if f.fail {
		return errors.New("relay down")
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeSender) kinds() []Kind {
	var k []Kind
	for _, m := range f.sent {
		k = append(k, m.Kind)
	}
	return k
}

func fakeNotifier(onChange, onError bool) (*Notifier, *fakeSender) {
	f := &fakeSender{}
	return &Notifier{
		channels:    []channel{{name: "fake", sender: f, onChange: onChange, onError: onError}},
		repeatAfter: DefaultRepeatAfter,
		clock:       clocktest.NewStepper(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)),
		hostname:    func() (string, error) { return "h", nil },
	}, f
}

// run is one agent run in a replayed sequence.
type run struct {
	at      time.Duration // since t0
	err     string        // "" for success
	kind    ErrorKind
	changed bool
	fail    bool   // the channel is down during this run
	wantErr bool   // Notify reports an undelivered message
	want    []Kind // messages delivered by this run
}

func TestThrottleSequences(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		name              string
		onChange, onError bool
		runs              []run
	}{
		{
			name: "same error is repeated once per repeat_after, then recovery", onChange: true, onError: true,
			runs: []run{
				{at: 0, err: "timeout after 20.3s waiting for 127.0.0.12", want: []Kind{KindError}},
				{at: 6 * h, err: "timeout after 19.9s waiting for 127.0.0.13", want: nil},
				{at: 12 * h, err: "timeout after 20.0s waiting for 127.0.0.12", want: nil},
				{at: 24 * h, err: "timeout after 20.1s waiting for 127.0.0.12", want: []Kind{KindError}},
				{at: 30 * h, want: []Kind{KindRecovery}},
				{at: 36 * h, want: nil},
			},
		},
		{
			name: "a different error is sent at once", onChange: true, onError: true,
			runs: []run{
				{at: 0, err: "chronyd unreachable", want: []Kind{KindError}},
				{at: h, err: "no candidate passed", kind: ErrorNoUsable, want: []Kind{KindError}},
				{at: 2 * h, err: "no candidate passed", kind: ErrorNoUsable, want: nil},
				{at: 3 * h, err: "no candidate passed", kind: ErrorRolledBack, want: []Kind{KindError}},
			},
		},
		{
			name: "recovery then change in the same run", onChange: true, onError: true,
			runs: []run{
				{at: 0, err: "boom", want: []Kind{KindError}},
				{at: h, changed: true, want: []Kind{KindRecovery, KindChange}},
				{at: 2 * h, changed: true, want: []Kind{KindChange}},
			},
		},
		{
			name: "undelivered error is retried next run, recovery only after a delivered error", onChange: true, onError: true,
			runs: []run{
				{at: 0, err: "boom", fail: true, wantErr: true, want: nil},
				{at: h, err: "boom", want: []Kind{KindError}},
				{at: 2 * h, fail: true, wantErr: true, want: nil},
				{at: 3 * h, want: []Kind{KindRecovery}},
			},
		},
		{
			name: "error never delivered: no recovery", onChange: true, onError: true,
			runs: []run{
				{at: 0, err: "boom", fail: true, wantErr: true, want: nil},
				{at: h, fail: true, want: nil},
			},
		},
		{
			name: "send_on_error off: no error, no recovery", onChange: true, onError: false,
			runs: []run{
				{at: 0, err: "boom", want: nil},
				{at: h, changed: true, want: []Kind{KindChange}},
			},
		},
		{
			name: "send_on_change off", onChange: false, onError: true,
			runs: []run{
				{at: 0, changed: true, want: nil},
				{at: h, err: "boom", want: []Kind{KindError}},
				{at: 2 * h, changed: true, want: []Kind{KindRecovery}},
			},
		},
		{
			name: "clock stepped back: the error is sent again", onChange: true, onError: true,
			runs: []run{
				{at: 48 * h, err: "boom", want: []Kind{KindError}},
				{at: 0, err: "boom", want: []Kind{KindError}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, f := fakeNotifier(tc.onChange, tc.onError)
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var st State
			for i, r := range tc.runs {
				o := Outcome{Time: t0.Add(r.at)}
				if r.err != "" {
					kind := r.kind
					if kind == "" {
						kind = ErrorFailed
					}
					o.Failure = &Failure{Kind: kind, Err: errors.New(r.err)}
				}
				if r.changed {
					o.Added = []Server{{Name: "a", Score: 90}}
				}
				f.fail, f.sent = r.fail, nil
				before, _ := json.Marshal(st)
				next, err := n.Notify(context.Background(), st, o)
				after, _ := json.Marshal(st)
				require.JSONEq(t, string(before), string(after), "run %d: Notify must not modify the state passed in", i)
				require.Equal(t, r.want, f.kinds(), "run %d", i)
				require.Equal(t, r.wantErr, err != nil, "run %d: err %v", i, err)
				// The state survives the trip through the state file.
				b, err := json.Marshal(next)
				require.NoError(t, err)
				st = State{}
				require.NoError(t, json.Unmarshal(b, &st))
			}
		})
	}
}

func TestErrorMessageCountsStreak(t *testing.T) {
	n, f := fakeNotifier(true, true)
	n.repeatAfter = time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var st State
	for i := 0; i < 3; i++ {
		var err error
		st, err = n.Notify(context.Background(), st, Outcome{Time: t0.Add(time.Duration(i) * time.Hour), Failure: &Failure{Kind: ErrorRolledBack, Err: errors.New("no selected source")}})
		require.NoError(t, err)
	}
	require.Len(t, f.sent, 3)
	last := f.sent[2]
	require.Equal(t, "[ntp-optimizer] h: run failed verification and was rolled back", last.Subject)
	require.Contains(t, last.Text, "Error: no selected source")
	require.Contains(t, last.Text, "Runs have failed since 2026-01-01 00:00:00 UTC (3 runs in a row).")
	require.Contains(t, last.Text, "at most once every 1h0m0s")

	f.sent = nil
	_, err := n.Notify(context.Background(), st, Outcome{Time: t0.Add(5 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, f.sent, 1)
	require.Contains(t, f.sent[0].Text, "succeeded after 3 failed run(s) since 2026-01-01 00:00:00 UTC.")
}

func TestErrorKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Failure
		same bool
	}{
		{"numbers and addresses", Failure{ErrorFailed, errors.New("timeout after 20.3s waiting for 127.0.0.12:123")}, Failure{ErrorFailed, errors.New("Timeout after 1.5s  waiting for 10.1.2.3:4123")}, true},
		{"ipv6", Failure{ErrorFailed, errors.New("no answer from [2001:db8::1]:123")}, Failure{ErrorFailed, errors.New("no answer from [fe80::2]:123")}, true},
		{"kind differs", Failure{ErrorFailed, errors.New("x")}, Failure{ErrorNoUsable, errors.New("x")}, false},
		{"text differs", Failure{ErrorFailed, errors.New("chronyd socket missing")}, Failure{ErrorFailed, errors.New("permission denied")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.same, ErrorKey(tc.a) == ErrorKey(tc.b), "%q vs %q", ErrorKey(tc.a), ErrorKey(tc.b))
		})
	}
	long := Failure{ErrorFailed, errors.New(string(make([]byte, 1000)))}
	require.LessOrEqual(t, len(ErrorKey(long)), maxKeyLen)
}

func TestNewKeepsChannelsItCanBuild(t *testing.T) {
	cfg := goodConfig()
	cfg.Email.Password = "p"
	require.NoError(t, cfg.Validate())
	n, err := New(cfg, Options{Password: PasswordSource{ConfigFile: "/etc/ntp-optimizer/config.toml", ConfigMode: 0o644, Getenv: func(string) string { return "" }}})
	require.ErrorIs(t, err, ErrPasswordExposed)
	require.Contains(t, err.Error(), "chmod 600 /etc/ntp-optimizer/config.toml")
	require.True(t, n.Enabled())
	require.Len(t, n.channels, 1)
	require.Equal(t, ChannelWebhook, n.channels[0].name)
}
