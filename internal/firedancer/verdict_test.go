package firedancer

import (
	"math/rand"
	"testing"
)

// TestVerdictsMatchFiredancer runs every compiled program in fencer's BPF
// interpreter against Firedancer's filter (Filter.Decide) on random calls:
// the policy's syscall numbers and those around them, execve, the x32
// range, foreign architectures, and arguments at, around and between the
// policy's constants, with junk in the high half. Every mismatch must be
// of one of the explained classes.
func TestVerdictsMatchFiredancer(t *testing.T) {
	corpus, compiled := compiledBench(t)
	n := *inputs
	st := NewVerdictStats()
	for _, c := range corpus {
		for _, a := range c.Arches {
			fd, err := NewFilter(c.Policy, a, c.Params)
			if err != nil {
				t.Fatal(err)
			}
			comp := compiled[c.Policy.Name+"/"+a.Name]
			seed := int64(len(c.Policy.Name))*7919 + int64(a.Audit)
			if err := CompareVerdicts(st, comp.Service.Name, fd, comp.Program, a, rand.New(rand.NewSource(seed)), n); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, b := range st.Bad {
		if i == 20 {
			t.Errorf("... and %d more", len(st.Bad)-20)
			break
		}
		t.Error(b)
	}
	t.Log(st)
}
