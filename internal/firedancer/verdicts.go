package firedancer

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"sort"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Mismatch classes: where fencer's verdict may differ from Firedancer's
// filter, and why that is right.
const (
	// ClassExecOnce: fencer's loader starts the service, so execve, which
	// no Firedancer policy names, gets the exec-once gate (its own execve
	// passes, every later one fails with ENOSYS without running) where
	// Firedancer's filter kills. Firedancer installs its filter in the
	// running process and never execs after.
	ClassExecOnce = "execve: exec once instead of kill_process"
	// ClassWidth: Firedancer's table of prototypes types an argument
	// `long` and compares all 64 bits where the kernel reads only the low
	// 32 (writev's vlen, fcntl's int argument of F_SETFL, ...): junk in
	// the high half makes Firedancer kill a call the kernel runs exactly
	// as the same call without the junk, which Firedancer allows. fencer
	// compares what the kernel reads, so its verdict is Firedancer's on
	// the call as the kernel sees it.
	ClassWidth = "high half the kernel ignores"
	// ClassLowOnly: the reverse, where Firedancer's table types an
	// argument `int` that the kernel reads whole (io_uring_enter's argsz):
	// Firedancer allows a call whose high half makes the kernel read
	// another value than the one checked. fencer compares what the kernel
	// reads, and decides as Firedancer does once that high half is the
	// one Firedancer's check assumes (zero, or the sign of the low word).
	// No corpus policy compares such an argument; the fuzz target may.
	ClassLowOnly = "high half Firedancer ignores"
)

// VerdictStats counts the inputs CompareVerdicts ran and the mismatches
// it found, explained (by class) or not (Bad).
type VerdictStats struct {
	Inputs  int
	Classes map[string]int
	// Widths are the syscall/argN of ClassWidth and ClassLowOnly
	// mismatches.
	Widths map[string]bool
	// Bad describes each unexplained mismatch.
	Bad []string
}

// NewVerdictStats returns empty counts.
func NewVerdictStats() *VerdictStats {
	return &VerdictStats{Classes: map[string]int{}, Widths: map[string]bool{}}
}

// String sums st up.
func (st *VerdictStats) String() string {
	widths := slices.Sorted(maps.Keys(st.Widths))
	return fmt.Sprintf("%d inputs, %d unexplained mismatches; explained: %v; arguments compared on another width than the kernel's: %v",
		st.Inputs, len(st.Bad), st.Classes, widths)
}

// CompareVerdicts runs prog, fencer's program for service on a, in
// fencer's BPF interpreter against Firedancer's filter f: first every
// syscall number of a and numbers out of its range (past the last, the
// x32 range, -1), then n random calls from rnd: the policy's syscall
// numbers and those around them, execve, foreign architectures, and
// arguments at, around and between the values the policy compares
// (parameters included), with junk in the high half. Every mismatch that
// is not of an explained class (ClassExecOnce, ClassWidth, ClassLowOnly)
// is added to st.Bad.
func CompareVerdicts(st *VerdictStats, service string, f *Filter, prog bpf.Program, a *arch.Arch, rnd *rand.Rand, n int) error {
	vm, err := bpf.NewVM(prog, a.Order)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", service, a.Name, err)
	}
	g := newCallGen(f, a, rnd)
	sweep := g.sweep()
	for i := 0; i < len(sweep)+n; i++ {
		var d policy.Data
		if i < len(sweep) {
			d = g.callNr(sweep[i])
		} else {
			d = g.call()
		}

		data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
		got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		want := f.Decide(d)
		st.Inputs++
		if got == want {
			continue
		}
		run := func(d policy.Data) policy.Action {
			data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
			return policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
		}
		if class, why := explain(f, a, d, got, want, run); class != "" {
			st.Classes[class]++
			if why != "" {
				st.Widths[why] = true
			}
			continue
		}
		st.Bad = append(st.Bad, fmt.Sprintf("%s on %s: nr %d arch %#x args %#x: fencer %s, Firedancer %s",
			service, a.Name, d.Nr, d.Arch, d.Args, got, want))
	}
	return nil
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
		return ClassExecOnce, ""
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
				return ClassLowOnly, fmt.Sprintf("%s/arg%d", name, i)
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
			return ClassWidth, fmt.Sprintf("%s/arg%d", name, i)
		}
	}
	return ClassWidth, name + "/several"
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

// sweep returns every syscall number of the architecture, the numbers
// just past the last, and out-of-range ones: the x32 range, the largest
// int32, -1.
func (g *callGen) sweep() []int32 {
	last := 0
	var out []int32
	for _, name := range g.a.SyscallNames() {
		nr, _ := g.a.Syscall(name)
		out = append(out, int32(nr))
		last = max(last, nr)
	}
	for i := 1; i <= 8; i++ {
		out = append(out, int32(last+i))
	}
	return append(out, int32(policy.X32Bit), int32(policy.X32Bit)|1, 0x3fffffff, 0x7fffffff, -1, -2)
}

// callNr returns a call of syscall number nr with arguments near the
// values the policy compares them with when it lists nr.
func (g *callGen) callNr(nr int32) policy.Data {
	d := policy.Data{Arch: g.a.Audit, Nr: nr, IP: g.rnd.Uint64()}
	vals := g.values[uint32(nr)]
	if vals == nil {
		vals = &[6][]uint64{}
	}
	for i := range d.Args {
		d.Args[i] = g.arg(vals[i])
	}
	return d
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
