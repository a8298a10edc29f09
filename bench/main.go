// Command bench compares fencer's seccomp compiler with libseccomp (at
// both optimization levels) and go-seccomp-bpf on the policies of issue
// 10, and measures the fencer command itself, printing issue 10's goals
// table with each goal and whether fencer meets it.
//
//	cd bench && go run . [-arch x86_64,aarch64] [-kernel] [-svg FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
)

// options are bench's flags.
type options struct {
	arches []*arch.Arch
	repo   string
	svg    string
	kernel bool
	runs   int
	plan   int
	plan10 bool
	// firedancer and systemService are the directories of the corpus's
	// configurations.
	firedancer    string
	systemService string
}

func main() {
	if isChild() {
		os.Exit(runChild())
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads bench's command line.
func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	archList := fs.String("arch", "x86_64,aarch64", "architectures to compile for, comma-separated")
	o := &options{}
	fs.StringVar(&o.repo, "repo", "..", "the fencer repository (examples/metrics, the fencer command)")
	fs.StringVar(&o.svg, "svg", "", "write the plot of instructions executed per syscall number to `FILE`")
	fs.BoolVar(&o.kernel, "kernel", false, "time a late syscall in the kernel under each compiler's filter (Linux)")
	fs.StringVar(&o.firedancer, "firedancer", "firedancer", "the directory of Firedancer's policies as fencer configurations")
	fs.StringVar(&o.systemService, "systemservice", "systemservice", "the directory of systemd's @system-service as a fencer configuration")
	fs.IntVar(&o.runs, "runs", 11, "runs of each timed command and kernel timing; the median counts")
	fs.IntVar(&o.plan, "plan", 1000, "services of the plan measurement (0: skip it)")
	fs.BoolVar(&o.plan10, "plan10k", false, "also measure the max RSS of a plan of 10,000 services")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, name := range strings.Split(*archList, ",") {
		a, ok := arch.Lookup(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown architecture %q", name)
		}
		o.arches = append(o.arches, a)
	}
	return o, nil
}
