package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/firedancer"
	"github.com/fencer-dev/fencer/internal/policy"
)

// errNotApplicable is a compiler's answer for a policy it has no
// program of by nature: its cell reads "—", without a note.
var errNotApplicable = errors.New("not applicable")

// firedancerGenerator is Firedancer's own generator
// (internal/firedancer.Generated lays its programs out instruction for
// instruction) for the policies of Firedancer's corpus, found by the
// service's name; it has no program of any other policy.
type firedancerGenerator struct {
	corpus map[string]firedancer.Converted
}

func (firedancerGenerator) name() string { return "Firedancer generator" }

// newFiredancerGenerator reads the corpus of .seccomppolicy files in dir.
func newFiredancerGenerator(dir string) (firedancerGenerator, error) {
	conv, err := firedancer.ReadCorpus(dir)
	if err != nil {
		return firedancerGenerator{}, err
	}
	g := firedancerGenerator{corpus: map[string]firedancer.Converted{}}
	for _, c := range conv {
		g.corpus[c.Policy.Name] = c
	}
	return g, nil
}

// firedancerCorpus is where the repository keeps Firedancer's policies.
func firedancerCorpus(repo string) string {
	return filepath.Join(repo, "internal", "firedancer", "testdata", "corpus")
}

func (g firedancerGenerator) compile(f *policy.Filter) (bpf.Program, error) {
	c, ok := g.corpus[f.Service]
	if !ok {
		return nil, errNotApplicable
	}
	a, ok := arch.Lookup(f.Arch)
	if !ok {
		return nil, fmt.Errorf("no architecture %s", f.Arch)
	}
	return firedancer.Generated(c.Policy, a, c.Params)
}
