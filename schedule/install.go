package schedule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// Drop-in paths, relative to the unit directory.
var (
	// IntervalDropIn sets a packaged timer's interval, as the Ansible role
	// does (deploy/ansible).
	IntervalDropIn = filepath.Join(TimerName+".d", "interval.conf")
	// ServiceDropIn gives a packaged service another binary, apply
	// arguments or writable paths.
	ServiceDropIn = filepath.Join(ServiceName+".d", "install.conf")
)

// PackagedUnitDirs are where a package puts the units (the .deb: /lib).
var PackagedUnitDirs = []string{"/lib/systemd/system", "/usr/lib/systemd/system", "/usr/local/lib/systemd/system"}

// Installer writes and removes the units. With a nil Manager it only
// handles the files (install --no-enable, packaging, unit directories
// systemd does not read).
//
// Where a package installed both units (in one of PackagedDirs), Install
// writes only drop-ins into UnitDir — IntervalDropIn always, ServiceDropIn
// when the service differs from the packaged one — so package upgrades
// keep reaching the units, and removes copies of the units it wrote to
// UnitDir before (they would shadow the packaged ones). Elsewhere it
// writes both units in full.
type Installer struct {
	// UnitDir is where the units go; "" means DefaultUnitDir.
	UnitDir string
	Units   UnitConfig
	Manager Manager
	Log     zerolog.Logger
	// PackagedDirs are searched for packaged units; nil searches none
	// (the command passes PackagedUnitDirs for the default UnitDir).
	PackagedDirs []string
}

// Result says what Install or Uninstall did, for the command to print.
type Result struct {
	// Files are the unit files written or removed.
	Files []string
	// Unchanged lists files whose content was already the same.
	Unchanged []string
	// Removed are files Install removed: its earlier copies of units a
	// package now provides, or drop-ins full units replace.
	Removed []string
	// Enabled (install) or Disabled (uninstall) report the timer's
	// enablement change over D-Bus.
	Enabled, Disabled bool
}

// packaged returns the directory holding both packaged units, or "".
func (in Installer) packaged() string {
	for _, d := range in.PackagedDirs {
		if filepath.Clean(d) == filepath.Clean(in.dir()) {
			continue
		}
		if exists(filepath.Join(d, ServiceName)) && exists(filepath.Join(d, TimerName)) {
			return d
		}
	}
	return ""
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
	if filepath.Clean(in.dir()) == DefaultUnitDir || in.packaged() != "" {
		return []string{name}
	}
	return []string{filepath.Join(in.dir(), name)}
}

// Install writes the units (or, over packaged units, the drop-ins)
// atomically (mode 0644), then, with a Manager, reloads systemd and, when
// enable is set, enables and starts the timer.
func (in Installer) Install(ctx context.Context, enable bool) (Result, error) {
	var res Result
	files, stale, err := in.render()
	if err != nil {
		return res, err
	}
	for _, f := range files {
		path := filepath.Join(in.dir(), f.name)
		if old, err := os.ReadFile(path); err == nil && string(old) == f.content {
			res.Unchanged = append(res.Unchanged, path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return res, fmt.Errorf("unit directory: %w", err)
		}
		if err := renameio.WriteFile(path, []byte(f.content), 0o644, renameio.WithStaticPermissions(0o644)); err != nil {
			return res, fmt.Errorf("writing %s: %w", path, err)
		}
		res.Files = append(res.Files, path)
		in.Log.Info().Str("file", path).Msg("unit written")
	}
	for _, name := range stale {
		removed, err := in.removeGenerated(name)
		if err != nil {
			return res, err
		}
		if removed != "" {
			res.Removed = append(res.Removed, removed)
		}
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

// Uninstall stops and disables the timer (with a Manager), removes the
// unit files and drop-ins from UnitDir (never packaged units) and reloads
// systemd. A run in progress is left to finish:
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
	for _, name := range []string{TimerName, ServiceName, IntervalDropIn, ServiceDropIn} {
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
		if dir := filepath.Dir(name); dir != "." {
			// The drop-in directory goes when it is empty.
			_ = os.Remove(filepath.Join(in.dir(), dir))
		}
	}
	if in.Manager != nil {
		if err := in.Manager.Reload(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

type unitFile struct{ name, content string }

// render returns the files Install writes and the names of files it
// removes, relative to the unit directory.
func (in Installer) render() (files []unitFile, stale []string, err error) {
	if in.packaged() == "" {
		service, err := RenderService(in.Units)
		if err != nil {
			return nil, nil, err
		}
		timer, err := RenderTimer(in.Units)
		if err != nil {
			return nil, nil, err
		}
		return []unitFile{{ServiceName, service}, {TimerName, timer}}, []string{IntervalDropIn, ServiceDropIn}, nil
	}
	interval, err := RenderIntervalDropIn(in.Units)
	if err != nil {
		return nil, nil, err
	}
	files = []unitFile{{IntervalDropIn, interval}}
	stale = []string{ServiceName, TimerName}
	service, err := RenderServiceDropIn(in.Units)
	if err != nil {
		return nil, nil, err
	}
	if service != "" {
		files = append(files, unitFile{ServiceDropIn, service})
	} else {
		stale = append(stale, ServiceDropIn)
	}
	return files, stale, nil
}

// removeGenerated removes name from the unit directory if Install wrote
// it (it starts with a "Generated by" line), and returns its path then.
func (in Installer) removeGenerated(name string) (string, error) {
	path := filepath.Join(in.dir(), name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if !strings.HasPrefix(string(b), generatedMark) && !strings.HasPrefix(string(b), dropInHeader) {
		in.Log.Warn().Str("file", path).Msg("not written by ntp-optimizer: left in place")
		return "", nil
	}
	if err := os.Remove(path); err != nil {
		return "", fmt.Errorf("removing %s: %w", path, err)
	}
	if dir := filepath.Dir(name); dir != "." {
		_ = os.Remove(filepath.Join(in.dir(), dir))
	}
	// An enabled copy leaves its link behind; enabling links the packaged
	// unit again.
	link := filepath.Join(in.dir(), "timers.target.wants", name)
	if target, err := os.Readlink(link); err == nil && target == path {
		_ = os.Remove(link)
	}
	in.Log.Info().Str("file", path).Msg("unit removed")
	return path, nil
}
