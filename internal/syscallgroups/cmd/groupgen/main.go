// Command groupgen writes one of systemd's syscall groups as a fencer
// configuration for the benchmark (bench/systemservice), from a recorded
// `systemd-analyze syscall-filter` output, or from this machine's systemd
// with -analyze, which also records its output in the dump. Run it with
// go generate ./internal/syscallgroups.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/syscallgroups"
)

func main() {
	dump := flag.String("dump", "internal/syscallgroups/testdata/systemd-252.txt", "the recorded output of systemd-analyze syscall-filter")
	group := flag.String("group", "@system-service", "the group to write")
	out := flag.String("out", "bench/systemservice/system-service.fencer.hcl", "the configuration to write")
	skip := flag.String("skip", "", "names to leave out, comma-separated: those systemd's libseccomp does not know")
	analyze := flag.Bool("analyze", false, "record this machine's systemd-analyze syscall-filter in -dump first")
	flag.Parse()
	if *analyze {
		if err := record(*dump); err != nil {
			fmt.Fprintln(os.Stderr, "groupgen:", err)
			os.Exit(1)
		}
	}
	if err := syscallgroups.WriteFile(*dump, *group, *out, strings.FieldsFunc(*skip, func(r rune) bool { return r == ',' })); err != nil {
		fmt.Fprintln(os.Stderr, "groupgen:", err)
		os.Exit(1)
	}
}

// record writes systemd's version and its groups to path.
func record(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := exec.CommandContext(ctx, "systemd-analyze", "--version").Output()
	if err != nil {
		return fmt.Errorf("systemd-analyze --version: %w", err)
	}
	groups, err := exec.CommandContext(ctx, "systemd-analyze", "syscall-filter").Output()
	if err != nil {
		return fmt.Errorf("systemd-analyze syscall-filter: %w", err)
	}
	first, _, _ := strings.Cut(string(version), "\n")
	head := fmt.Sprintf("# %s\n", first)
	return os.WriteFile(path, append([]byte(head), groups...), 0o644)
}
