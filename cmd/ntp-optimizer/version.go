package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and build information",
		Description: "Prints the version (git describe at build time), the commit, its date and\n" +
			"whether the tree had uncommitted changes (the Go toolchain's VCS stamp, also\n" +
			"shown by 'go version -m'), and the Go version and platform.",
		Action: func(c *cli.Context) error {
			bi, _ := debug.ReadBuildInfo()
			writeVersion(c.App.Writer, c.App.Version, bi)
			return nil
		},
	}
}

// buildStamp is what the Go toolchain recorded about the commit the binary
// was built from (go build -buildvcs, the default in a git work tree).
type buildStamp struct {
	commit, time string
	modified     bool
}

func stampOf(bi *debug.BuildInfo) buildStamp {
	var s buildStamp
	if bi == nil {
		return s
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			s.commit = kv.Value
		case "vcs.time":
			s.time = kv.Value
		case "vcs.modified":
			s.modified = kv.Value == "true"
		}
	}
	return s
}

// writeVersion prints one "key: value" line each after the first.
func writeVersion(w io.Writer, version string, bi *debug.BuildInfo) {
	s := stampOf(bi)
	or := func(v, none string) string {
		if v == "" {
			return none
		}
		return v
	}
	commit := or(s.commit, "unknown (built without VCS information)")
	if s.modified {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "ntp-optimizer %s\n", version)
	fmt.Fprintf(w, "commit:      %s\n", commit)
	fmt.Fprintf(w, "commit date: %s\n", or(s.time, "unknown"))
	fmt.Fprintf(w, "go:          %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
