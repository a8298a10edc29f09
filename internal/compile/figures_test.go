package compile_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/progstats"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// compiled resolves the named service of the configuration in dir (from
// the module's root) for a, and returns its policy.
func compiled(t testing.TB, dir, service string, a *arch.Arch) *policy.Filter {
	t.Helper()
	cfg, diags := hclspec.Load(filepath.Join("..", "..", dir), hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	all, diags := resolve.CompileAll(cfg, []string{a.Name})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	c, err := resolve.Find(all, service, a.Name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Filter
}

// systemService is systemd 252's @system-service on a, every name allowed
// unconditionally, the rest killed (bench/systemservice).
func systemService(t testing.TB, a *arch.Arch) *policy.Filter {
	return compiled(t, filepath.Join("bench", "systemservice"), "system-service", a)
}

// metrics is the metrics example's policy on a without its start-up rules:
// the calls the server makes while it serves.
func metrics(t testing.TB, a *arch.Arch) *policy.Filter {
	all := compiled(t, filepath.Join("examples", "metrics"), "metrics", a)
	f := *all
	f.Rules = nil
	for _, r := range all.Rules {
		if !strings.HasPrefix(r.Name, "startup") {
			f.Rules = append(f.Rules, r)
		}
	}
	return &f
}

func figures(t testing.TB, f *policy.Filter) progstats.Figures {
	t.Helper()
	prog, _, err := compile.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	fig, err := progstats.Measure(prog, f)
	if err != nil {
		t.Fatal(err)
	}
	return fig
}

// TestFigures checks the figures of issue 10's goals table that the
// dispatch decides alone, on x86_64 and aarch64: @system-service, an
// allow-list, within 56 instructions of which at most 10 run for any
// syscall; and the metrics policy (its rules without the start-up set,
// with and without the exec-once gate), within 40 instructions and at most
// 11 run on average by an allowed call.
func TestFigures(t *testing.T) {
	for _, a := range []*arch.Arch{arch.X86_64, arch.AArch64} {
		ss, m := figures(t, systemService(t, a)), metrics(t, a)
		gated := figures(t, m)
		m.ExecOnce = nil
		plain := figures(t, m)
		t.Logf("%s: @system-service size %d, max executed %d; metrics size %d, mean executed on allowed calls %.2f (with the exec-once gate %d, %.2f)",
			a.Name, ss.Insns, ss.MaxExecuted, plain.Insns, plain.MeanAllowed, gated.Insns, gated.MeanAllowed)
		if ss.Insns > 56 || ss.MaxExecuted > 10 {
			t.Errorf("%s: @system-service takes %d instructions, at most %d run: want at most 56 and 10", a.Name, ss.Insns, ss.MaxExecuted)
		}
		for _, m := range []progstats.Figures{plain, gated} {
			if m.Insns > 40 || m.MeanAllowed > 11 {
				t.Errorf("%s: the metrics policy takes %d instructions, %.2f run on average by an allowed call: want at most 40 and 11", a.Name, m.Insns, m.MeanAllowed)
			}
		}
	}
}
