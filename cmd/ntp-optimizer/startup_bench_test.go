package main

import (
	"io"
	"testing"
)

// BenchmarkStartup is the in-process part of a short command's start-up:
// building the command tree and running `version` (configuration, logger).
func BenchmarkStartup(b *testing.B) {
	b.Run("newApp", func(b *testing.B) {
		for b.Loop() {
			_ = newApp()
		}
	})
	b.Run("run-version", func(b *testing.B) {
		for b.Loop() {
			app := newAppFor([]string{"ntp-optimizer", "version"})
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			if err := app.Run([]string{"ntp-optimizer", "version"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestInvokedCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sources", "-n"}, "sources"},
		{[]string{"--config", "/x.toml", "apply", "--dry-run"}, "apply"},
		{[]string{"-c", "/x.toml", "--log-level=debug", "status"}, "status"},
		{[]string{"--log-level", "warn", "help", "apply"}, "apply"},
		{[]string{"--help"}, ""},
		{[]string{}, ""},
	} {
		if got := invokedCommand(tc.args); got != tc.want {
			t.Errorf("invokedCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestNewAppForKeepsInvokedFlags(t *testing.T) {
	app := newAppFor([]string{"ntp-optimizer", "--log-level", "warn", "apply", "--dry-run"})
	for _, c := range app.Commands {
		if c.Name == "apply" && len(c.Flags) == 0 {
			t.Fatal("apply lost its flags")
		}
		if c.Name == "probe" && len(c.Flags) != 0 {
			t.Fatal("probe kept its flags")
		}
	}
}
