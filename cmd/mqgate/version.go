package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionText is what `mqgate version` prints: mqgate's version, then the
// commit, its date and the Go toolchain and platform from the build
// information, the details a bug report needs. info is nil when the binary
// carries no build information. Builds without version control stamps
// (go run, test binaries, -buildvcs=false) say "commit unknown" rather than
// print an empty commit.
func versionText(version string, info *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mqgate %s\n", version)
	settings := map[string]string{}
	goVersion := runtime.Version()
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
	}
	switch rev := settings["vcs.revision"]; {
	case rev != "":
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "commit %s\n", rev)
	case info != nil && info.Main.Version != "" && info.Main.Version != "(devel)":
		// go install module@version stamps the module version, not a commit.
		fmt.Fprintf(&b, "commit unknown (module %s)\n", info.Main.Version)
	default:
		b.WriteString("commit unknown\n")
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "date   %s\n", t)
	}
	goos, goarch := settings["GOOS"], settings["GOARCH"]
	if goos == "" || goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	fmt.Fprintf(&b, "go     %s %s/%s\n", goVersion, goos, goarch)
	return b.String()
}
