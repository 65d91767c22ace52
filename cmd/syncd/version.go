package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time (see the Makefile):
//
//	-ldflags "-X main.Version=v1.2.3 -X main.Commit=abc1234 -X main.Date=2026-01-02T03:04:05Z"
//
// Left empty, they come from the module and VCS information Go records in
// the binary (go install ...@v1.2.3, or a build inside a git checkout).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// buildInfo is what `syncd version` and syncd_build_info report.
type buildInfo struct {
	Version, Revision, Date, GoVersion string
}

// readBuildInfo prefers the ldflags values and falls back to
// debug.ReadBuildInfo for each one left empty.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: Version, Revision: Commit, Date: Date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b = fillFromBuildInfo(b, bi)
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func fillFromBuildInfo(b buildInfo, bi *debug.BuildInfo) buildInfo {
	if b.Version == "" && bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Revision == "" {
				b.Revision = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && Commit == "" && b.Revision != "" {
		b.Revision += "-dirty"
	}
	return b
}

func version() string { return readBuildInfo().Version }

func goVersion() string { return runtime.Version() }

func (b buildInfo) String() string {
	return fmt.Sprintf("syncd %s (commit %s, built %s, %s %s/%s)", b.Version, b.Revision, b.Date, b.GoVersion, runtime.GOOS, runtime.GOARCH)
}
