package firedancer

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// benchDir holds the generated configurations.
const benchDir = "../../bench/firedancer"

// inputs is how many random calls TestVerdictsMatchFiredancer makes per
// policy and architecture: 10,000 keeps the default test to a second or
// two; go test ./internal/firedancer -fd.inputs=100000 (or more) for a
// deeper run.
var inputs = flag.Int("fd.inputs", 10_000, "random calls per policy and architecture in TestVerdictsMatchFiredancer")

// TestBenchUpToDate regenerates bench/firedancer in memory and compares
// it with the files there.
func TestBenchUpToDate(t *testing.T) {
	want, err := BenchFiles(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	have, _ := filepath.Glob(filepath.Join(benchDir, "*.fencer.hcl"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is not generated from the corpus: run go generate ./internal/firedancer", f)
		}
	}
	for name, src := range want {
		got, err := os.ReadFile(filepath.Join(benchDir, name))
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%s is not up to date (%v): run go generate ./internal/firedancer", name, err)
		}
	}
	if len(want) != 51 {
		t.Errorf("%d files generated, want 50 policies and the hosts file", len(want))
	}
}

// compiledBench loads bench/firedancer (TestBenchUpToDate checks that it
// is what the corpus makes) and compiles each
// policy for each architecture it is meant for, as fencer show -bpf does.
func compiledBench(t *testing.T) ([]Converted, map[string]*resolve.Compiled) {
	t.Helper()
	corpus, err := ReadCorpus(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := hclspec.Load(benchDir, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	services := map[string]*hclspec.Service{}
	for _, svc := range cfg.Services {
		services[svc.Name] = svc
	}
	out := map[string]*resolve.Compiled{}
	for _, c := range corpus {
		svc := services[c.Policy.Name]
		if svc == nil {
			t.Fatalf("no service %s", c.Policy.Name)
		}
		if got, want := archNames(resolve.Arches(cfg, svc, nil)), archNames(c.Arches); got != want {
			t.Errorf("%s is planned for %s, want %s", svc.Name, got, want)
		}
		for _, a := range c.Arches {
			comp, diags := resolve.Compile(svc, a)
			if diags.HasErrors() {
				t.Fatalf("%s on %s: %s", svc.Name, a.Name, diags.Error())
			}
			for _, d := range diags {
				t.Errorf("%s on %s: %s", svc.Name, a.Name, d.Error())
			}
			out[svc.Name+"/"+a.Name] = comp
		}
	}
	return corpus, out
}

func archNames(as []*arch.Arch) string {
	var s string
	for _, a := range as {
		s += a.Name + " "
	}
	return s
}

// TestBenchCompiles checks that every policy compiles for the
// architectures it is meant for, and that an _arm64 variant replaces its
// policy on aarch64.
func TestBenchCompiles(t *testing.T) {
	corpus, compiled := compiledBench(t)
	total := map[string]int{}
	for _, c := range corpus {
		for _, a := range c.Arches {
			total[a.Name] += len(compiled[c.Policy.Name+"/"+a.Name].Program)
		}
	}
	if _, ok := compiled["pidns/aarch64"]; ok {
		t.Error("pidns is compiled for aarch64, where pidns_arm64 replaces it")
	}
	if _, ok := compiled["pidns_arm64/x86_64"]; ok {
		t.Error("pidns_arm64 is compiled for x86_64")
	}
	if len(compiled) != 2*len(corpus)-2 {
		t.Errorf("%d programs, want %d", len(compiled), 2*len(corpus)-2)
	}
	t.Logf("instructions in total: %v", total)
}
