package hclspec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse as a .fencer.hcl file, and as a
// .fencer.json one: it must never panic, and every diagnostic must say
// where and what.
//
// The seeds are whole configurations, which the fuzzing engine spends up
// to a minute minimizing whenever it finds new coverage; run it with a
// bounded minimization:
//
//	go test ./hclspec -run '^$' -fuzz FuzzParse -fuzzminimizetime 200x
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"spec", "json"} {
		matches, _ := filepath.Glob(filepath.Join("testdata", dir, "*.fencer.*"))
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, c := range errorCases {
		f.Add([]byte(c.src))
	}
	f.Add([]byte(`service "m" {
  unit = "m.service"
  rule "r" {
    syscalls = ["read"]
    when     = contains(var.x, masked(arg0, local.m)) || has_bits(arg1, bitor(A, -1)) && !(5 >= arg2)
    action   = errno(var.e)
  }
}
`))
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := LoadOptions{Vars: []string{"x=[1]"}, Environ: []string{"FENCER_VAR_y=2"}}
		for _, name := range []string{"main.fencer.hcl", "main.fencer.json"} {
			cfg, diags := Parse(map[string][]byte{name: src, "unit.service": []byte("[Service]\n")}, opts)
			if cfg == nil {
				t.Fatalf("%s: nil Config", name)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Summary == "" {
					t.Errorf("%s: diagnostic without subject or summary: %+v", name, d)
				}
			}
		}
	})
}
