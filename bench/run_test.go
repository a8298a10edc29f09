package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// TestRun: one short run of the whole bench prints every row of the
// goals table with a verdict, and the kernel row with -kernel.
func TestRun(t *testing.T) {
	a := native(t)
	var out bytes.Buffer
	o := &options{arches: []*arch.Arch{a}, repo: "..", runs: 1, plan: 20, firedancer: "firedancer", systemService: "systemservice", kernel: true, svg: t.TempDir() + "/plot.svg"}
	if err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"@system-service", "the metrics policy", "`export bpf`", "`plan -root=EMPTY` of 20 services", "in the kernel", "verdicts of fencer against the policy: 0 wrong"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| work") && !strings.Contains(line, "yes") && !strings.Contains(line, "**no**") {
			t.Errorf("row without a verdict: %s", line)
		}
	}
}

// TestRowsHaveEveryColumn: every row of the table has a cell per column.
func TestRowsHaveEveryColumn(t *testing.T) {
	var out bytes.Buffer
	o := &options{arches: []*arch.Arch{native(t)}, repo: "..", runs: 1, plan: 2, firedancer: "firedancer", systemService: "systemservice"}
	if err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	want := -1
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		if n := strings.Count(line, " | "); want < 0 {
			want = n
		} else if n != want {
			t.Errorf("%d cells, the header %d: %s", n+1, want+1, line)
		}
	}
}
