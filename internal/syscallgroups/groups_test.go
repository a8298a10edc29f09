package syscallgroups

import (
	"bytes"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

const (
	dump  = "testdata/systemd-252.txt"
	bench = "../../bench/systemservice/system-service.fencer.hcl"
)

// skipped is what the go:generate line leaves out.
var skipped = []string{"uretprobe"}

func groups(t *testing.T) *Groups {
	t.Helper()
	src, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestExpand(t *testing.T) {
	g := groups(t)
	if g.Version != "systemd 252 (252.38-1~deb12u1)" {
		t.Errorf("version %q", g.Version)
	}
	names, err := g.Expand("@system-service")
	if err != nil {
		t.Fatal(err)
	}
	// 376 names, of which libseccomp 2.5.4 resolves 298 on x86_64.
	if len(names) != 376 {
		t.Errorf("@system-service has %d names, want 376", len(names))
	}
	for _, want := range []string{"execve", "io_uring_setup", "sched_yield", "_llseek"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("%s is missing", want)
		}
	}
	for _, bad := range []string{"@system-service", "ptrace", "mount"} {
		if strings.Contains(" "+strings.Join(names, " ")+" ", " "+bad+" ") {
			t.Errorf("%s is in @system-service", bad)
		}
	}
	if _, err := g.Expand("@nope"); err == nil {
		t.Error("an unknown group expands")
	}
	cyc, err := Parse([]byte("@a\n    @b\n@b\n    x\n    @a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cyc.Expand("@a"); err == nil || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("a cycle: %v", err)
	}
	for _, bad := range []string{"", "    read\n", "@a\n@a\n", "# only\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
}

// TestBenchUpToDate regenerates bench/systemservice in memory.
func TestBenchUpToDate(t *testing.T) {
	want, err := Write(groups(t), "@system-service", arch.All(), skipped)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(bench)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not up to date (%v): run go generate ./internal/syscallgroups", bench, err)
	}
}

// TestBenchVerdicts compiles the configuration for every architecture and
// checks the program over every syscall number up to past the table's
// end: allowed exactly when the number is one of the group's names there.
func TestBenchVerdicts(t *testing.T) {
	g := groups(t)
	names, _ := g.Expand("@system-service")
	src, err := Write(g, "@system-service", arch.All(), skipped)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := hclspec.Parse(map[string][]byte{"s.fencer.hcl": src}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	rnd := rand.New(rand.NewSource(1))
	for _, a := range arch.All() {
		comp, diags := resolve.Compile(cfg.Services[0], a)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", a.Name, diags.Error())
		}
		allowed := map[int32]bool{}
		for _, n := range names {
			if nr, ok := a.Syscall(n); ok && n != "uretprobe" {
				allowed[int32(nr)] = true
			}
		}
		if a.Name == "x86_64" && len(allowed) != 298 {
			t.Errorf("x86_64: %d syscalls allowed, want systemd's 298", len(allowed))
		}
		vm, err := bpf.NewVM(comp.Program, a.Order)
		if err != nil {
			t.Fatal(err)
		}
		var nrs []int32
		for nr := int32(-1); nr < 4200; nr++ {
			nrs = append(nrs, nr)
		}
		for nr := range allowed {
			nrs = append(nrs, nr, nr+1) // arm's private syscalls are above 0xf0000
		}
		for _, nr := range nrs {
			for _, d := range []policy.Data{
				{Nr: nr, Arch: a.Audit, Args: [6]uint64{rnd.Uint64(), rnd.Uint64()}},
				{Nr: nr | policy.X32Bit, Arch: a.Audit},
				{Nr: nr, Arch: a.Audit ^ 1},
			} {
				data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
				got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
				want := policy.ActKillProcess
				if d.Arch == a.Audit && allowed[d.Nr] && !(a.X32 && uint32(d.Nr) >= policy.X32Bit) {
					want = policy.ActAllow
				}
				if got != want {
					t.Fatalf("%s: nr %#x arch %#x: %s, want %s", a.Name, d.Nr, d.Arch, got, want)
				}
			}
		}
		t.Logf("%s: %d instructions, %d syscalls", a.Name, len(comp.Program), len(allowed))
	}
}
