package main

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/firedancer"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// fdCorpus is Firedancer's policies (a copy of shared/corpus/firedancer).
const fdCorpus = "../../internal/firedancer/testdata/corpus"

// fdInputs is how many random calls per policy and architecture
// TestImportFiredancerVerdicts makes after its sweep of every syscall
// number: the 100,000, or 10,000 with -short.
func fdInputs() int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// TestImportFiredancerVerdicts imports every policy of the corpus as
// fencer import firedancer does (the 50 current ones in one run, the two
// historical ones in another), with parameter values drawn at random on
// each run (the seed is logged), compiles each service for the
// architectures it is for and checks that the compiled programs decide as
// Firedancer's filter for the same values (firedancer.Filter.Decide), on
// every syscall number and on fdInputs random calls aimed at the policy's
// values, with junk in the high half of arguments.
func TestImportFiredancerVerdicts(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))
	current, _ := filepath.Glob(filepath.Join(fdCorpus, "*.seccomppolicy"))
	historical, _ := filepath.Glob(filepath.Join(fdCorpus, "historical", "*.seccomppolicy"))
	if len(current) != 50 || len(historical) != 2 {
		t.Fatalf("%d policies and %d historical ones, want 50 and 2", len(current), len(historical))
	}
	st := firedancer.NewVerdictStats()
	pairs := 0
	for _, set := range []struct {
		files    []string
		services int
	}{{current, 49}, {historical, 1}} {
		text, services, _, diags := importFiredancer(set.files)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if len(services) != set.services {
			t.Errorf("%d services, want %d", len(services), set.services)
		}
		values, vars := drawParams(rnd, services, true)
		cfg, diags := hclspec.Parse(map[string][]byte{"import.fencer.hcl": text}, hclspec.LoadOptions{Vars: vars})
		if diags.HasErrors() {
			t.Fatalf("%s\nwith %v", diags.Error(), vars)
		}
		for i, svc := range cfg.Services {
			pairs += checkFiredancerImport(t, st, rnd, cfg, svc, services[i], values[i])
		}
	}
	for i, b := range st.Bad {
		if i == 20 {
			t.Errorf("... and %d more", len(st.Bad)-20)
			break
		}
		t.Error(b)
	}
	if pairs != 2*49+2 {
		t.Errorf("%d programs checked, want %d", pairs, 2*49+2)
	}
	if min := pairs * fdInputs(); st.Inputs < min {
		t.Errorf("%d inputs, want at least %d", st.Inputs, min)
	}
	t.Log(st)
}

// checkImported compiles svc for each architecture of the imported
// service's variants and compares its verdicts with Firedancer's filter
// for params; it returns how many programs it checked.
func checkFiredancerImport(t *testing.T, st *firedancer.VerdictStats, rnd *rand.Rand, cfg *hclspec.Config, svc *hclspec.Service, imp firedancer.Service, params map[string]uint64) int {
	t.Helper()
	if svc.Name != imp.Name {
		t.Fatalf("service %s where %s was imported", svc.Name, imp.Name)
	}
	var want []*arch.Arch
	n := 0
	for _, v := range imp.Variants {
		want = append(want, v.Arches...)
		for _, a := range v.Arches {
			comp, diags := resolve.Compile(svc, a)
			if diags.HasErrors() {
				t.Fatalf("%s on %s: %s", svc.Name, a.Name, diags.Error())
			}
			f, err := firedancer.NewFilter(v.Policy, a, params)
			if err != nil {
				t.Fatal(err)
			}
			if err := firedancer.CompareVerdicts(st, svc.Name, f, comp.Program, a, rnd, fdInputs()); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if got, w := fdArchList(resolve.Arches(cfg, svc, nil)), fdArchList(want); got != w {
		t.Errorf("%s is for %s, want %s", svc.Name, got, w)
	}
	return n
}

func fdArchList(as []*arch.Arch) string {
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	return strings.Join(names, " ")
}

// drawParams draws a value for each parameter of each service: an fd
// number below 64 for an fd, or another parameter's value when that is an
// fd number (distinct within its service when distinctFds, as fencer
// refuses two fds on one number), any uint for the others, which often
// equal another parameter's value or are small. It returns the
// values by service and parameter, and the -var options that give them.
func drawParams(rnd *rand.Rand, services []firedancer.Service, distinctFds bool) ([]map[string]uint64, []string) {
	var vars []string
	out := make([]map[string]uint64, len(services))
	for i, svc := range services {
		vals := map[string]uint64{}
		used := map[uint64]bool{}
		var drawn []uint64
		for _, v := range svc.Variants {
			for _, prm := range v.Policy.Params {
				if _, done := vals[prm.Name]; done {
					continue
				}
				role := svc.Options.Roles[prm.Name]
				var x uint64
				for {
					switch p := rnd.Intn(8); {
					case p < 2 && len(drawn) > 0:
						x = drawn[rnd.Intn(len(drawn))]
					case p < 6 || role == firedancer.RoleFd:
						x = uint64(rnd.Intn(64))
					default:
						x = uint64(rnd.Uint32())
					}
					if role != firedancer.RoleFd || x <= math.MaxInt32 && (!distinctFds || !used[x]) {
						break
					}
				}
				if role == firedancer.RoleFd {
					used[x] = true
				}
				drawn = append(drawn, x)
				vals[prm.Name] = x
				if role != firedancer.RoleUnused {
					vars = append(vars, fmt.Sprintf("%s=%d", svc.Options.VarName(prm.Name), x))
				}
			}
		}
		out[i] = vals
	}
	return out, vars
}

// TestImportFiredancerEqualFds: two fd parameters of one value are two
// fds on one number, which fencer refuses, naming both.
func TestImportFiredancerEqualFds(t *testing.T) {
	text, services, _, diags := importFiredancer([]string{filepath.Join(fdCorpus, "fd_solcap_tile.seccomppolicy")})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if services[0].Options.Roles["solcap_fd_0"] != firedancer.RoleFd {
		t.Fatal("solcap_fd_0 is not an fd")
	}
	vars := []string{"logfile_fd=3", "solcap_fd_0=5", "solcap_fd_1=5"}
	_, diags = hclspec.Parse(map[string][]byte{"import.fencer.hcl": text}, hclspec.LoadOptions{Vars: vars})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `fd "solcap_fd_0" and fd "solcap_fd_1" both get number 5`) {
		t.Errorf("diagnostics %v, want two fds on one number", diags)
	}
}
