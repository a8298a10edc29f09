// Command fdgen writes Firedancer's seccomp policies as fencer
// configurations for the benchmark: bench/firedancer/NAME.fencer.hcl for
// each policy of the corpus, and the hosts file they share. Run it with
// go generate ./internal/firedancer.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/fencer-dev/fencer/internal/firedancer"
)

func main() {
	corpus := flag.String("corpus", "internal/firedancer/testdata/corpus", "the directory of *.seccomppolicy files")
	out := flag.String("out", "bench/firedancer", "where to write the configurations")
	flag.Parse()
	if err := firedancer.WriteBench(*corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fdgen:", err)
		os.Exit(1)
	}
}
