package kernel_test

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/kernel"
	"github.com/fencer-dev/fencer/internal/policy"
)

// The x86_64 syscalls Linux exempts from seccomp (seccomp_uprobe_exception):
// the kernel runs no filter for them, native ABI only.
const (
	nrUretprobe = 335 // exempt since 6.14, and in some stable updates of 6.11 to 6.13
	nrUprobe    = 336 // exempt since 6.18
)

// everyNumber is every native number from 0 to 600, the x32 range, numbers
// past every table and negative ones; the exempt numbers also with
// arguments (they used to kill the probe or read as errno(6)) and twice,
// so that one batch both checks a number and meets it again.
func everyNumber() []kernel.Call {
	var calls []kernel.Call
	for nr := int32(0); nr <= 600; nr++ {
		calls = append(calls, kernel.Call{Nr: nr})
	}
	for _, nr := range []int32{
		x32, x32 | nrGetpid, x32 | nrUretprobe, x32 | nrUprobe, x32 | 511, x32 | 512, x32 | 600, x32 | 0x3fffffff,
		1000, 1023, 1024, 4096, 1 << 20, 0x3fffffff, math.MaxInt32, -1, -2, math.MinInt32, math.MinInt32 | nrUretprobe,
	} {
		calls = append(calls, kernel.Call{Nr: nr})
	}
	args := [6]uint64{0, 0xc14c8cba, 0x8a4a, 0x949c, 0x200000000000, 0x150}
	for _, nr := range []int32{nrUretprobe - 1, nrUretprobe, nrUprobe, nrUprobe + 1, nrGetpid} {
		calls = append(calls, kernel.Call{Nr: nr, Args: args}, kernel.Call{Nr: nr, Args: [6]uint64{^uint64(0), 1, 2, 3, 4, 5}})
	}
	return calls
}

// someNumbers is the part of everyNumber around the exempt numbers and
// outside the native table, for the actions that take longer to observe.
func someNumbers() []kernel.Call {
	var calls []kernel.Call
	for _, c := range everyNumber() {
		if c.Nr >= nrUretprobe-3 && c.Nr <= nrUprobe+3 || c.Nr > 600 || c.Nr < 0 {
			calls = append(calls, c)
		}
	}
	return calls
}

// exempt reports whether Linux may exempt the call from seccomp.
func exempt(c kernel.Call) bool {
	return !c.Compat && (c.Nr == nrUretprobe || c.Nr == nrUprobe)
}

// kernelAtLeast reports whether the running kernel's release is at least
// major.minor.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	parts := strings.SplitN(b.String(), ".", 3)
	if len(parts) < 2 {
		t.Fatalf("kernel release %q", b.String())
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		t.Fatalf("kernel release %q", b.String())
	}
	return maj > major || maj == major && min >= minor
}

// checkEveryCall probes calls under a program that returns ret for
// everything and requires want for each, except for the calls the kernel
// does not filter, which must be exempt ones reported as such. It returns
// the unfiltered calls' numbers.
func checkEveryCall(t *testing.T, ret uint32, want kernel.Verdict, calls []kernel.Call) map[int32]bool {
	t.Helper()
	p := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, ret)}
	got, err := kernel.Probe(p, calls)
	if err != nil {
		t.Fatalf("ret %#x: %v", ret, err)
	}
	unfiltered := map[int32]bool{}
	for i, c := range calls {
		v := got[i]
		switch {
		case v.Unfiltered:
			if !exempt(c) {
				t.Errorf("ret %#x: %v: reported unfiltered: %+v", ret, c, v)
			}
			if v.Action != policy.ActAllow || !v.Passed {
				t.Errorf("ret %#x: %v: unfiltered but %+v", ret, c, v)
			}
			unfiltered[c.Nr] = true
		case v != want:
			t.Errorf("ret %#x: %v: got %+v, want %+v", ret, c, v, want)
		}
	}
	for i, c := range calls {
		if unfiltered[c.Nr] && !c.Compat && !got[i].Unfiltered {
			t.Errorf("ret %#x: %v: reported %+v, but unfiltered elsewhere in the batch", ret, c, got[i])
		}
	}
	return unfiltered
}

// TestEveryNumber probes every syscall number under allow and errno, and
// the other actions over some, so that no number the kernel treats
// specially goes unnoticed. Linux runs no filter
// for uretprobe and uprobe: unless reported as unfiltered they would run
// under the probe (uretprobe raising SIGILL, uprobe returning ENXIO, which
// read as a broken probe and as errno(6)).
func TestEveryNumber(t *testing.T) {
	requireProbes(t)
	all, some := everyNumber(), someNumbers()
	var first map[int32]bool
	for _, c := range []struct {
		ret   uint32
		want  kernel.Verdict
		calls []kernel.Call
	}{
		{policy.RetAllow, passed, all},
		{policy.RetErrno | 1234, errno(1234), all},
		{policy.RetLog, passed, some},
		{policy.RetTrap | 77, trap(77), some},
		{policy.RetKillThread, killThread, some},
		{policy.RetKillProcess, killProcess, some},
	} {
		unfiltered := checkEveryCall(t, c.ret, c.want, c.calls)
		if first == nil {
			first = unfiltered
			t.Logf("unfiltered native numbers: %v", unfiltered)
		} else if len(unfiltered) != len(first) || unfiltered[nrUretprobe] != first[nrUretprobe] || unfiltered[nrUprobe] != first[nrUprobe] {
			t.Errorf("ret %#x: unfiltered %v, but %v under allow", c.ret, unfiltered, first)
		}
	}
	if kernelAtLeast(t, 6, 18) && (!first[nrUretprobe] || !first[nrUprobe]) {
		t.Errorf("Linux 6.18 and later exempt uretprobe and uprobe from seccomp, but the probe found %v", first)
	}
}

// TestEveryCompatNumber does the same through the i386 entry, where Linux
// exempts nothing.
func TestEveryCompatNumber(t *testing.T) {
	requireProbes(t)
	var calls []kernel.Call
	for nr := int32(0); nr <= 600; nr++ {
		calls = append(calls, kernel.Call{Nr: nr, Compat: true})
	}
	for _, nr := range []int32{1000, 1 << 20, x32 | nrUretprobe, math.MaxInt32, -1} {
		calls = append(calls, kernel.Call{Nr: nr, Compat: true})
	}
	if _, err := kernel.Probe(bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow)}, calls[:1]); errors.Is(err, kernel.ErrNoCompat) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if unfiltered := checkEveryCall(t, policy.RetAllow, passed, calls); len(unfiltered) != 0 {
		t.Errorf("unfiltered i386 numbers: %v", unfiltered)
	}
	var some []kernel.Call
	for _, c := range calls {
		if c.Nr >= nrUretprobe-3 && c.Nr <= nrUprobe+3 || c.Nr > 600 || c.Nr < 0 {
			some = append(some, c)
		}
	}
	checkEveryCall(t, policy.RetErrno|4095, errno(4095), some)
}
