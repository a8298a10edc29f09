package firedancer

import (
	"fmt"
	"math/rand"
	"os"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// FuzzPolicy reads any input as a policy: no panic, and every error has a
// position in the file. A policy that reads is written as a fencer
// configuration, which must load; when it compiles for x86_64, its
// program must decide as Firedancer's filter does (but for the explained
// mismatches). The seeds are the corpus and broken variants of it.
func FuzzPolicy(f *testing.F) {
	for _, path := range corpusFiles(f, true) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
		f.Add(src[:len(src)/2])
	}
	for _, s := range []string{
		"noarg\nwrite: (eq (arg 0) (or))", "uint a\nwrite: (<= a (arg 1))\nlseek: (>= (arg 1) \"(long)-2\")",
		"noarg\nioctl: (eq (arg 1) \"TCGETS|(int)0x80000000\")", "noarg\nfutex: (eq (arg 0) \"-1\")",
		"noarg\nsendto: (not (not (eq (arg 5) \"0xffffffffffffffff\")))",
		// io_uring_enter's argsz: Firedancer compares the low word of a
		// size_t the kernel reads whole.
		"uint r\nio_uring_enter: (and (eq (arg 0) r) (or (eq (arg 5) 8) (eq (arg 5) \"(int)-1\")))",
	} {
		f.Add([]byte(s))
	}
	x86, _ := arch.Lookup("x86_64")
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags := Parse("fuzz.seccomppolicy", src)
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Filename != "fuzz.seccomppolicy" || d.Subject.Start.Line < 1 {
				t.Fatalf("diagnostic without a position: %s", d.Error())
			}
		}
		if p == nil {
			return
		}
		params := ParamNumbers(p)
		out, err := Write(p, WriteOptions{Arches: []*arch.Arch{x86}, Params: params})
		if err != nil {
			return
		}
		cfg, diags := hclspec.Parse(map[string][]byte{"fuzz.fencer.hcl": out}, hclspec.LoadOptions{})
		if diags.HasErrors() {
			t.Fatalf("written configuration does not load: %s\n%s", diags.Error(), out)
		}
		comp, diags := resolve.Compile(cfg.Services[0], x86)
		if diags.HasErrors() {
			return
		}
		fd, err := NewFilter(p, x86, params)
		if err != nil {
			t.Fatalf("compiles in fencer but not for Firedancer: %v\n%s", err, out)
		}
		st := NewVerdictStats()
		if err := CompareVerdicts(st, p.Name, fd, comp.Program, x86, rand.New(rand.NewSource(1)), 300); err != nil {
			t.Fatal(err)
		}
		if len(st.Bad) > 0 {
			t.Fatalf("%s\n%s", st.Bad[0], out)
		}
		checkImport(t, src, p, params)
	})
}

// checkImport imports src as fencer import firedancer does, with params
// as the variables' values: the configuration loads, and on x86_64, when
// the service is for it and compiles, decides as Firedancer's filter.
func checkImport(t *testing.T, src []byte, p *Policy, params map[string]uint64) {
	out, services, diags := Import([]Input{{Path: "fuzz.seccomppolicy", Src: src}}, func(string) bool { return false })
	if diags.HasErrors() {
		return
	}
	var vars []string
	for name, role := range services[0].Options.Roles {
		if role != RoleUnused {
			vars = append(vars, fmt.Sprintf("%s=%d", services[0].Options.VarName(name), params[name]))
		}
	}
	cfg, diags := hclspec.Parse(map[string][]byte{"fuzz.fencer.hcl": out}, hclspec.LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("imported configuration does not load: %s\n%s", diags.Error(), out)
	}
	x86 := services[0].Variants[0].Arches[0]
	if x86.Name != "x86_64" {
		return
	}
	comp, diags := resolve.Compile(cfg.Services[0], x86)
	if diags.HasErrors() {
		return
	}
	fd, err := NewFilter(p, x86, params)
	if err != nil {
		t.Fatal(err)
	}
	st := NewVerdictStats()
	if err := CompareVerdicts(st, p.Name, fd, comp.Program, x86, rand.New(rand.NewSource(2)), 300); err != nil {
		t.Fatal(err)
	}
	if len(st.Bad) > 0 {
		t.Fatalf("imported: %s\n%s", st.Bad[0], out)
	}
}
