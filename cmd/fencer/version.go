package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is fencer's version, set at build time with
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/fencer
//
// When it is empty, the module version recorded in the binary's build
// information is used (as "go install ...@v1.2.3" records it), else "dev".
var version string

var versionCommand = &command{
	name:     "version",
	synopsis: "Show the fencer version",
	help: `Usage: fencer [global options] version [options]

  Show fencer's version, the Go version it was built with and the
  platform it runs on. "fencer -version" is the same.

Options:

  -json              Print the version information as a JSON object.

` + noColorHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		asJSON := fs.Bool("json", false, "")
		return func(c *cli, args []string) int {
			if len(args) > 0 {
				return c.fail(usagef("version takes no arguments, got %s", quoteAll(args)))
			}
			v := currentVersion()
			platform := runtime.GOOS + "_" + runtime.GOARCH
			if *asJSON {
				b, err := json.MarshalIndent(map[string]string{
					"fencer_version": strings.TrimPrefix(v, "v"),
					"go_version":     runtime.Version(),
					"platform":       platform,
				}, "", "  ")
				if err != nil {
					return c.fail(fmt.Errorf("encoding the version as JSON: %w", err))
				}
				fmt.Fprintf(c.stdout, "%s\n", b)
				return exitOK
			}
			fmt.Fprintf(c.stdout, "fencer %s\nbuilt with %s on %s\n", v, runtime.Version(), platform)
			return exitOK
		}
	},
}

// currentVersion returns the version to show: "v1.2.3" or "dev".
func currentVersion() string {
	v := version
	if v == "" {
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "dev" {
		return "dev"
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}
