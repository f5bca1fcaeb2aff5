package metrics

import (
	"cmp"
	"runtime"
	"runtime/debug"
)

// BuildInfo is what ntp_optimizer_build_info says about the binary that
// wrote the file.
type BuildInfo struct {
	// Version is the release ("v1.2.0"), or the version Go stamped from
	// the VCS ("v0.0.0-20261201134600-2545fdd0e3c1+dirty").
	Version string
	// Commit is the VCS revision the binary was built from.
	Commit string
	// GoVersion is the Go release that built it ("go1.26.8").
	GoVersion string
}

// unknown is the value of a build_info label nobody knows.
const unknown = "unknown"

// orBinary returns b with its empty fields taken from the running
// binary's build information (runtime/debug.ReadBuildInfo: the main
// module's version and the vcs.revision setting) and "unknown" where that
// has nothing either.
func (b BuildInfo) orBinary() BuildInfo {
	if b.GoVersion == "" {
		b.GoVersion = runtime.Version()
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = unknown
	}
	if b.Commit == "" {
		b.Commit = unknown
	}
	return b
}

// or returns b with its empty fields taken from d.
func (b BuildInfo) or(d BuildInfo) BuildInfo {
	b.Version = cmp.Or(b.Version, d.Version)
	b.Commit = cmp.Or(b.Commit, d.Commit)
	b.GoVersion = cmp.Or(b.GoVersion, d.GoVersion)
	return b
}
