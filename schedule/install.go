package schedule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/rs/zerolog"
)

// Manager is what Installer needs from systemd (*systemd.Conn).
type Manager interface {
	Reload(ctx context.Context) error
	EnableUnitFiles(ctx context.Context, files []string) error
	DisableUnitFiles(ctx context.Context, files []string) error
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
}

// Installer writes and removes the two units. With a nil Manager it only
// handles the files (install --no-enable, packaging, unit directories
// systemd does not read).
type Installer struct {
	// UnitDir is where the units go; "" means DefaultUnitDir.
	UnitDir string
	Units   UnitConfig
	Manager Manager
	Log     zerolog.Logger
}

// Result says what Install or Uninstall did, for the command to print.
type Result struct {
	// Files are the unit files written or removed.
	Files []string
	// Unchanged lists files whose content was already the same.
	Unchanged []string
	// Enabled (install) or Disabled (uninstall) report the timer's
	// enablement change over D-Bus.
	Enabled, Disabled bool
}

func (in Installer) dir() string {
	if in.UnitDir == "" {
		return DefaultUnitDir
	}
	return in.UnitDir
}

// unitArgs names the units for EnableUnitFiles: bare names for the
// default directory, absolute paths elsewhere (systemd links them).
func (in Installer) unitArgs(name string) []string {
	if filepath.Clean(in.dir()) == DefaultUnitDir {
		return []string{name}
	}
	return []string{filepath.Join(in.dir(), name)}
}

// Install writes the service and the timer atomically (mode 0644), then,
// with a Manager, reloads systemd and, when enable is set, enables and
// starts the timer.
func (in Installer) Install(ctx context.Context, enable bool) (Result, error) {
	var res Result
	service, err := RenderService(in.Units)
	if err != nil {
		return res, err
	}
	timer, err := RenderTimer(in.Units)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(in.dir(), 0o755); err != nil {
		return res, fmt.Errorf("unit directory: %w", err)
	}
	for _, f := range []struct{ name, content string }{{ServiceName, service}, {TimerName, timer}} {
		path := filepath.Join(in.dir(), f.name)
		if old, err := os.ReadFile(path); err == nil && string(old) == f.content {
			res.Unchanged = append(res.Unchanged, path)
			continue
		}
		if err := renameio.WriteFile(path, []byte(f.content), 0o644, renameio.WithStaticPermissions(0o644)); err != nil {
			return res, fmt.Errorf("writing %s: %w", path, err)
		}
		res.Files = append(res.Files, path)
		in.Log.Info().Str("file", path).Msg("unit written")
	}
	if in.Manager == nil {
		return res, nil
	}
	if err := in.Manager.Reload(ctx); err != nil {
		return res, err
	}
	if !enable {
		return res, nil
	}
	if err := in.Manager.EnableUnitFiles(ctx, in.unitArgs(TimerName)); err != nil {
		return res, err
	}
	if err := in.Manager.Start(ctx, TimerName); err != nil {
		return res, err
	}
	res.Enabled = true
	in.Log.Info().Str("unit", TimerName).Msg("timer enabled and started")
	return res, nil
}

// Uninstall stops and disables the timer (with a Manager), removes both
// unit files and reloads systemd. A run in progress is left to finish:
// stopping it mid-change would leave chronyd half-changed. Missing files
// are not an error, so Uninstall can be repeated.
func (in Installer) Uninstall(ctx context.Context) (Result, error) {
	var res Result
	if in.Manager != nil {
		if err := in.Manager.Stop(ctx, TimerName); err != nil {
			return res, err
		}
		if err := in.Manager.DisableUnitFiles(ctx, in.unitArgs(TimerName)); err != nil {
			return res, err
		}
		res.Disabled = true
	}
	for _, name := range []string{TimerName, ServiceName} {
		path := filepath.Join(in.dir(), name)
		err := os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("removing %s: %w", path, err)
		}
		res.Files = append(res.Files, path)
		in.Log.Info().Str("file", path).Msg("unit removed")
	}
	if in.Manager != nil {
		if err := in.Manager.Reload(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}
