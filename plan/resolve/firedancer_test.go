package resolve

import (
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/firedancer"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestParametricFiredancerParity compares, for each policy of Firedancer's
// corpus and each architecture it is for, the filter Firedancer's
// generator writes for some parameter values (firedancer.Generated) with
// the program fencer's parametric compile of its configuration in
// bench/firedancer fills for the same values (what `fencer export c`'s
// function does): the same verdict on every input drawn, with values
// equal to each other and to the policies' constants among the draws,
// execve included (no exec-once gate in an exported program).
func TestParametricFiredancerParity(t *testing.T) {
	corpus, err := firedancer.ReadCorpus("../../internal/firedancer/testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := hclspec.Load("../../bench/firedancer", hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	byName := map[string]*hclspec.Service{}
	for _, svc := range cfg.Services {
		byName[svc.Name] = svc
	}
	r := rand.New(rand.NewSource(9))
	compared := 0
	for _, conv := range corpus {
		svc := byName[conv.Policy.Name]
		if svc == nil {
			t.Fatalf("no service %s in bench/firedancer", conv.Policy.Name)
		}
		for _, a := range conv.Arches {
			c, diags := CompileParametric(svc, a)
			if diags.HasErrors() {
				t.Fatalf("%s on %s: %v", svc.Name, a.Name, diags)
			}
			for range 8 {
				values := map[string]uint32{}
				params := map[string]uint64{}
				for name := range conv.Params {
					v := []uint32{0, 2, 3, 4, 0xffffffff, uint32(r.Intn(8))}[r.Intn(6)]
					values[name], params[name] = v, uint64(v)
				}
				ours, err := c.Parametric.Fill(values)
				if err != nil {
					t.Fatal(err)
				}
				theirs, err := firedancer.Generated(conv.Policy, a, params)
				if err != nil {
					t.Fatal(err)
				}
				compared += sameVerdicts(t, r, c.Filter.WithParams(values), ours, theirs, values)
			}
		}
	}
	t.Logf("%d inputs compared", compared)
}

// sameVerdicts runs both programs on inputs drawn from f's syscalls and
// constants and reports a difference; it returns how many it ran.
func sameVerdicts(t *testing.T, r *rand.Rand, f *policy.Filter, ours, theirs bpf.Program, values map[string]uint32) int {
	t.Helper()
	vmOurs, err := bpf.NewVM(ours, f.Order)
	if err != nil {
		t.Fatal(err)
	}
	vmTheirs, err := bpf.NewVM(theirs, f.Order)
	if err != nil {
		t.Fatal(err)
	}
	var consts []uint64
	for _, rule := range f.Rules {
		for _, c := range policy.Comparisons(rule.When) {
			consts = append(consts, c.Value, c.Value+1, c.Value-1)
		}
	}
	n := 0
	for range 300 {
		var d policy.Data
		d.Arch = f.AuditArch
		d.Nr = int32(r.Intn(460))
		if len(f.Rules) > 0 && r.Intn(2) == 0 {
			d.Nr = int32(f.Rules[r.Intn(len(f.Rules))].Nr)
		}
		for i := range d.Args {
			if len(consts) > 0 && r.Intn(3) != 0 {
				d.Args[i] = consts[r.Intn(len(consts))]
			} else {
				d.Args[i] = uint64(r.Intn(10))
			}
			if r.Intn(6) == 0 {
				d.Args[i] |= uint64(r.Uint32()) << 32 // junk the kernel ignores for an int
			}
		}
		data := bpf.MakeData(d.Nr, d.Arch, 0, d.Args, f.Order)
		a := policy.ActionFromRet(vmOurs.Run(data[:], bpf.Options{}).Ret)
		b := policy.ActionFromRet(vmTheirs.Run(data[:], bpf.Options{}).Ret)
		if a != b && !highHalvesOnly(f, d, a, vmTheirs) {
			t.Fatalf("%s on %s, parameters %v: nr %d args %#x: fencer's program says %v, Firedancer's %v", f.Service, f.Arch, values, d.Nr, d.Args, a, b)
		}
		n++
	}
	return n
}

// highHalvesOnly reports whether a difference between fencer's verdict
// got and Firedancer's on d is one the kernel cannot see: got is the
// policy's meaning on the bits the kernel acts on, and Firedancer's
// program, which compares whole registers, agrees once the high halves
// are cleared (junk there is ignored by the kernel for an int argument).
func highHalvesOnly(f *policy.Filter, d policy.Data, got policy.Action, theirs *bpf.VM) bool {
	if got != f.Decide(d) {
		return false
	}
	low := d
	for i := range low.Args {
		low.Args[i] &= 0xffffffff
	}
	data := bpf.MakeData(low.Nr, low.Arch, 0, low.Args, f.Order)
	return policy.ActionFromRet(theirs.Run(data[:], bpf.Options{}).Ret) == got
}
