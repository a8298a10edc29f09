package draft

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

func TestSmallDaemonWrites(t *testing.T) {
	for _, archName := range []string{"x86_64", "aarch64"} {
		out, err := Write(smallDaemon(archName), Options{})
		if err != nil {
			t.Fatalf("%s: %v", archName, err)
		}
		if archName == "x86_64" {
			t.Logf("\n%s", out)
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
