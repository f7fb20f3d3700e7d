package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionText(t *testing.T) {
	build := func(goVersion, mainVersion string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: goVersion, Main: debug.Module{Path: "github.com/mqgate/mqgate", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{
			name: "a clean checkout shows the commit and its date",
			info: build("go1.24.2", "(devel)", "GOOS", "linux", "GOARCH", "arm64",
				"vcs", "git", "vcs.revision", rev, "vcs.time", "2025-03-04T05:06:07Z", "vcs.modified", "false"),
			want: "mqgate 1.2.3\ncommit " + rev + "\ndate   2025-03-04T05:06:07Z\ngo     go1.24.2 linux/arm64\n",
		},
		{
			name: "a modified checkout says so",
			info: build("go1.24.2", "(devel)", "GOOS", "darwin", "GOARCH", "amd64",
				"vcs.revision", rev, "vcs.time", "2025-03-04T05:06:07Z", "vcs.modified", "true"),
			want: "mqgate 1.2.3\ncommit " + rev + " (modified)\ndate   2025-03-04T05:06:07Z\ngo     go1.24.2 darwin/amd64\n",
		},
		{
			name: "without version control stamps the commit is unknown",
			info: build("go1.24.2", "(devel)", "GOOS", "linux", "GOARCH", "amd64"),
			want: "mqgate 1.2.3\ncommit unknown\ngo     go1.24.2 linux/amd64\n",
		},
		{
			name: "go install module@version shows the module version",
			info: build("go1.24.2", "v1.2.3", "GOOS", "linux", "GOARCH", "amd64"),
			want: "mqgate 1.2.3\ncommit unknown (module v1.2.3)\ngo     go1.24.2 linux/amd64\n",
		},
		{
			name: "without build information the running toolchain is shown",
			info: nil,
			want: "mqgate 1.2.3\ncommit unknown\ngo     " + runtime.Version() + " " + platform + "\n",
		},
		{
			name: "without GOOS and GOARCH settings the running platform is shown",
			info: build("go1.24.2", "", "vcs.revision", rev),
			want: "mqgate 1.2.3\ncommit " + rev + "\ngo     go1.24.2 " + platform + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionText("1.2.3", tc.info); got != tc.want {
				t.Fatalf("versionText =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
