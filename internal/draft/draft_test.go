package draft

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/plan/lint"
)

var recordings = map[string]func(string) *observe.Recording{
	"small_daemon":    smallDaemon,
	"threaded_server": threadedServer,
	"echo":            echo,
}

// TestRecordingsDraftCleanPolicies: each hand-made recording gives a
// policy that passes its own check (Write runs it) and that validate
// -strict accepts: no lint finds anything to say about it — on every
// architecture but i386 and s390x, whose mmap takes its arguments in
// memory, so that the lint rightly says no fd condition on read or write
// holds there while mmap is allowed (and a program cannot do without it).
func TestRecordingsDraftCleanPolicies(t *testing.T) {
	for name, mk := range recordings {
		for _, archName := range []string{"x86_64", "aarch64", "arm", "riscv64", "ppc64le"} {
			t.Run(name+"/"+archName, func(t *testing.T) {
				out, err := Write(mk(archName), Options{})
				if err != nil {
					t.Fatal(err)
				}
				cfg, diags := hclspec.Parse(map[string][]byte{"draft.fencer.hcl": out}, hclspec.LoadOptions{})
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				for _, dg := range lint.Policies(cfg, []string{archName}) {
					if dg.Severity == hcl.DiagWarning || dg.Severity == hcl.DiagError {
						t.Errorf("%s: %s: %s", dg.Subject, dg.Summary, dg.Detail)
					}
				}
				if t.Failed() {
					t.Logf("\n%s", out)
				}
			})
		}
	}
}

// TestCheckRefusesACallThePolicyKills: a policy written for one recording
// does not pass the check of a recording with one more syscall.
func TestCheckRefusesACallThePolicyKills(t *testing.T) {
	rec := smallDaemon("x86_64")
	out, err := Write(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"draft.fencer.hcl": out}
	if err := Check(rec, files, "demo"); err != nil {
		t.Fatalf("the recording itself: %v", err)
	}
	b := &builder{a: mustArch("x86_64"), rec: rec, now: rec.Elapsed}
	b.call(4000, 4000, "ptrace", 0, 16, 1)
	err = Check(rec, files, "demo")
	if err == nil || !strings.Contains(err.Error(), "ptrace(0x10, 0x1") || !strings.Contains(err.Error(), "kill_process") {
		t.Fatalf("Check = %v, want the ptrace call killed", err)
	}
}

func mustArch(name string) *arch.Arch {
	a, ok := arch.Lookup(name)
	if !ok {
		panic(name)
	}
	return a
}

// TestOmittedCounted: calls the recorder counted but did not keep are
// in the comments.
func TestOmittedCounted(t *testing.T) {
	rec := smallDaemon("x86_64")
	rec.Omitted = map[string]int64{"read": 5000, "nr 9999": 3}
	out, err := Write(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"5003 more were counted, not kept",
		"read: 6 calls, 3 at start-up, 3 after; and 5000 more like these",
		"syscall numbers fencer has no name for on x86_64, which the policy kills: 9999",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
