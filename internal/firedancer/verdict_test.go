package firedancer

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// Mismatch classes: where fencer's verdict may differ from Firedancer's
// filter, and why that is right.
const (
	// classExecOnce: fencer's loader starts the service, so execve, which
	// no Firedancer policy names, gets the exec-once gate (its own execve
	// passes, every later one fails with ENOSYS without running) where
	// Firedancer's filter kills. Firedancer installs its filter in the
	// running process and never execs after.
	classExecOnce = "execve: exec once instead of kill_process"
	// classWidth: Firedancer's table of prototypes types an argument
	// `long` and compares all 64 bits where the kernel reads only the low
	// 32 (writev's vlen, fcntl's int argument of F_SETFL, ...): junk in
	// the high half makes Firedancer kill a call the kernel runs exactly
	// as the same call without the junk, which Firedancer allows. fencer
	// compares what the kernel reads, so its verdict is Firedancer's on
	// the call as the kernel sees it.
	classWidth = "high half the kernel ignores"
	// classLowOnly: the reverse, where Firedancer's table types an
	// argument `int` that the kernel reads whole (io_uring_enter's argsz):
	// Firedancer allows a call whose high half makes the kernel read
	// another value than the one checked. fencer compares what the kernel
	// reads, and decides as Firedancer does once that high half is the
	// one Firedancer's check assumes (zero, or the sign of the low word).
	// No corpus policy compares such an argument; the fuzz target may.
	classLowOnly = "high half Firedancer ignores"
)

// verdictStats counts inputs and explained mismatches.
type verdictStats struct {
	inputs  int
	classes map[string]int
	widths  map[string]bool // syscall/argN of classWidth mismatches
	bad     []string
}

// TestVerdictsMatchFiredancer runs every compiled program in fencer's BPF
// interpreter against Firedancer's filter (Filter.Decide) on random calls:
// the policy's syscall numbers and those around them, execve, the x32
// range, foreign architectures, and arguments at, around and between the
// policy's constants, with junk in the high half. Every mismatch must be
// of one of the explained classes.
func TestVerdictsMatchFiredancer(t *testing.T) {
	corpus, compiled := compiledBench(t)
	n := *inputs
	st := &verdictStats{classes: map[string]int{}, widths: map[string]bool{}}
	for _, c := range corpus {
		for _, a := range c.Arches {
			fd, err := NewFilter(c.Policy, a, c.Params)
			if err != nil {
				t.Fatal(err)
			}
			comp := compiled[c.Policy.Name+"/"+a.Name]
			seed := int64(len(c.Policy.Name))*7919 + int64(a.Audit)
			checkVerdicts(t, st, fd, comp, rand.New(rand.NewSource(seed)), n)
		}
	}
	for i, b := range st.bad {
		if i == 20 {
			t.Errorf("... and %d more", len(st.bad)-20)
			break
		}
		t.Error(b)
	}
	var widths []string
	for w := range st.widths {
		widths = append(widths, w)
	}
	sort.Strings(widths)
	t.Logf("%d inputs; explained mismatches: %v; arguments compared on another width than the kernel's: %v",
		st.inputs, st.classes, widths)
}

// checkVerdicts compares fd and comp on n calls from rnd.
func checkVerdicts(t testing.TB, st *verdictStats, fd *Filter, comp *resolve.Compiled, rnd *rand.Rand, n int) {
	a := comp.Arch
	vm, err := bpf.NewVM(comp.Program, a.Order)
	if err != nil {
		t.Fatal(err)
	}
	g := newCallGen(fd, a, rnd)
	for i := 0; i < n; i++ {
		d := g.call()
		data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
		got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		want := fd.Decide(d)
		st.inputs++
		if got == want {
			continue
		}
		run := func(d policy.Data) policy.Action {
			data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
			return policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		}
		if class, why := explain(fd, a, d, got, want, run); class != "" {
			st.classes[class]++
			if why != "" {
				st.widths[why] = true
			}
			continue
		}
		st.bad = append(st.bad, fmt.Sprintf("%s on %s: nr %d arch %#x args %#x: fencer %s, Firedancer %s",
			comp.Service.Name, a.Name, d.Nr, d.Arch, d.Args, got, want))
	}
}

// explain returns the class of a mismatch, and for the width classes
// which argument carried the junk; "" when it is not explained. run runs
// fencer's program.
func explain(fd *Filter, a *arch.Arch, d policy.Data, got, want policy.Action, run func(policy.Data) policy.Action) (string, string) {
	if d.Arch != a.Audit {
		return "", ""
	}
	name, _ := a.SyscallName(int(d.Nr))
	if name == "execve" && got == policy.ActExecOnce && want == policy.ActKillProcess {
		return classExecOnce, ""
	}
	for i, v := range d.Args {
		is32, ok := argIs32(name, i)
		if !ok || !is32 || a.ArgWidthIn(name, i, &d.Args).Bits != 64 {
			continue
		}
		for _, hi := range []uint64{0, uint64(int64(int32(uint32(v)))) &^ 0xffffffff} {
			e := d
			e.Args[i] = hi | uint64(uint32(v))
			if e != d && run(e) == want {
				return classLowOnly, fmt.Sprintf("%s/arg%d", name, i)
			}
		}
	}
	// The call as the kernel reads it: each argument on its width.
	k := d
	for i := range k.Args {
		k.Args[i] &= arch.WidthMask(a.ArgWidthIn(name, i, &d.Args).Bits)
	}
	if k == d || fd.Decide(k) != got {
		return "", ""
	}
	// Name the argument whose high half alone makes the difference.
	for i := range k.Args {
		one := d
		one.Args[i] = k.Args[i]
		if one != d && fd.Decide(one) == got {
			return classWidth, fmt.Sprintf("%s/arg%d", name, i)
		}
	}
	return classWidth, name + "/several"
}

// callGen makes random calls around a policy.
type callGen struct {
	rnd    *rand.Rand
	a      *arch.Arch
	nrs    []uint32
	values map[uint32]*[6][]uint64 // per listed syscall, per argument: values compared
	execve uint32
	others []uint32 // audit values of other architectures
}

func newCallGen(fd *Filter, a *arch.Arch, rnd *rand.Rand) *callGen {
	g := &callGen{rnd: rnd, a: a, values: map[uint32]*[6][]uint64{}}
	for nr, n := range fd.byNr {
		g.nrs = append(g.nrs, nr)
		vals := &[6][]uint64{}
		n.collect(vals)
		g.values[nr] = vals
	}
	sort.Slice(g.nrs, func(i, j int) bool { return g.nrs[i] < g.nrs[j] })
	if nr, ok := a.Syscall("execve"); ok {
		g.execve = uint32(nr)
	}
	for _, o := range arch.All() {
		if o != a {
			g.others = append(g.others, o.Audit)
		}
	}
	return g
}

// collect adds the values n compares each argument with.
func (n *rnode) collect(vals *[6][]uint64) {
	if n == nil {
		return
	}
	for _, a := range n.args {
		a.collect(vals)
	}
	if len(n.args) == 0 && n.op != "not" {
		vals[n.arg] = append(vals[n.arg], n.val)
	}
}

// call returns one random call.
func (g *callGen) call() policy.Data {
	r := g.rnd
	d := policy.Data{Arch: g.a.Audit, IP: r.Uint64()}
	listed := uint32(r.Intn(512))
	if len(g.nrs) > 0 {
		listed = g.nrs[r.Intn(len(g.nrs))]
	}
	switch p := r.Intn(100); {
	case p < 70:
		d.Nr = int32(listed)
	case p < 80:
		d.Nr = int32(listed) + int32(r.Intn(7)) - 3
	case p < 84:
		d.Nr = int32(g.execve)
	case p < 90:
		d.Nr = int32(r.Intn(512))
	case p < 95:
		d.Nr = int32(listed | policy.X32Bit)
	case p < 98:
		d.Nr = int32(r.Uint32())
	default:
		d.Nr = int32(listed)
		d.Arch = g.others[r.Intn(len(g.others))]
	}
	vals := g.values[listed]
	if vals == nil {
		vals = &[6][]uint64{}
	}
	for i := range d.Args {
		d.Args[i] = g.arg(vals[i])
	}
	return d
}

// arg returns a value near one of vals (or a small or random one), with
// junk in its high half one time in four.
func (g *callGen) arg(vals []uint64) uint64 {
	r := g.rnd
	var v uint64
	switch p := r.Intn(100); {
	case p < 60 && len(vals) > 0:
		v = vals[r.Intn(len(vals))] + uint64(r.Intn(3)) - 1
	case p < 75:
		v = uint64(r.Intn(16))
	case p < 90:
		v = uint64(r.Uint32())
	default:
		v = r.Uint64()
	}
	if r.Intn(4) == 0 {
		v = uint64(uint32(v)) | uint64(r.Uint32())<<32
	}
	return v
}
