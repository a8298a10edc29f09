package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestCExporter: the C exporter the export timing runs writes, at both
// levels, the program the libseccomp adapter gets for the same names.
func TestCExporter(t *testing.T) {
	a := native(t)
	dir := t.TempDir()
	exporter, err := buildExporter(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &policy.Filter{Service: "s", Arch: a.Name, AuditArch: a.Audit, Order: a.Order, X32: a.X32, Default: policy.ActKillProcess}
	for _, name := range []string{"read", "write", "close", "getpid", "exit_group"} {
		nr, _ := a.Syscall(name)
		f.Rules = append(f.Rules, policy.Rule{Syscall: name, Nr: uint32(nr), When: policy.Const(true), Action: policy.ActAllow})
	}
	names := filepath.Join(dir, "names.txt")
	if err := os.WriteFile(names, []byte("read\nwrite\nclose\ngetpid\nexit_group\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{1, 2} {
		out, err := exec.Command(exporter, names, string(rune('0'+level))).Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := bpf.Decode(out, binary.NativeEndian)
		if err != nil {
			t.Fatal(err)
		}
		want, err := libseccomp{optimize: level}.compile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("-O%d: the C exporter writes\n%v\nthe adapter\n%v", level, got, want)
		}
	}
}

// TestKernelChild: a timing child under each compiler's program of a
// policy that allows the Go runtime's calls and the late syscall on a
// condition returns a time per call, the filter installed without
// privileges.
func TestKernelChild(t *testing.T) {
	a := native(t)
	ss, err := systemServicePolicy("systemservice", a)
	if err != nil {
		t.Fatal(err)
	}
	late := withLateCall(ss, a)
	ar := &archRun{arch: a, named: measureAll([]benchPolicy{late, late, late}, []compiler{fencerCompiler{}, libseccomp{optimize: 2}})}
	ns, err := timeFilters(&options{runs: 1}, ar, int(late.filter.Rules[len(late.filter.Rules)-1].Nr))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range ns {
		if v <= 0 {
			t.Errorf("child %d: %v ns per call", i, v)
		}
	}
}

// native is this machine's architecture; the test is skipped on a
// machine fencer has none for.
func native(t *testing.T) *arch.Arch {
	a, ok := arch.Lookup(nativeArch())
	if !ok {
		t.Skip("fencer has no architecture for this machine")
	}
	return a
}
