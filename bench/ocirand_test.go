package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// randomProfile is a profile of a few entries on read and socket with
// random actions and comparisons.
func randomProfile(r *rand.Rand) []byte {
	acts := []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_KILL"}
	ops := []string{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
	// One action per syscall: entries that give a syscall different
	// actions where both hold decide as libseccomp's layout has it, which
	// import warns about (TestImportOverlap).
	actionOf := map[string]string{}
	var entries []map[string]any
	for range 1 + r.Intn(4) {
		name := []string{"read", "socket", "lseek"}[r.Intn(3)]
		if actionOf[name] == "" {
			actionOf[name] = acts[r.Intn(len(acts))]
		}
		e := map[string]any{"names": []string{name}, "action": actionOf[name]}
		if e["action"] == "SCMP_ACT_ERRNO" {
			e["errnoRet"] = len(name) // the same for every entry of name
		}
		var args []map[string]any
		for range r.Intn(3) {
			idx := r.Intn(3)
			if e["names"].([]string)[0] == "socket" {
				idx = r.Intn(2)
			}
			args = append(args, map[string]any{"index": idx, "value": r.Intn(8), "valueTwo": r.Intn(8), "op": ops[r.Intn(len(ops))]})
		}
		if len(args) > 0 {
			e["args"] = args
		}
		entries = append(entries, e)
	}
	b, _ := json.Marshal(map[string]any{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": entries})
	return b
}

// TestOCIRandomProfiles: random small profiles (every comparison, several
// per entry and per argument, every action, entries of one syscall with
// one action) import with the verdicts libseccomp gives them, but where
// a 32-bit argument's high half decides.
func TestOCIRandomProfiles(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for i := range 300 {
		src := randomProfile(r)
		for _, c := range importOCI(t, fmt.Sprintf("random%d.json", i), src, nil, nil) {
			if c.Arch != arch.X86_64 && c.Arch != arch.AArch64 {
				continue
			}
			lib, err := libseccompOCI(src, c.Arch, nil)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			d, err := compareOCI(c, lib, ociInputs(t, src))
			if err != nil {
				t.Fatal(err)
			}
			if d.wrong > 0 {
				t.Fatalf("%s on %s: %d wrong; first: %s", src, c.Arch.Name, d.wrong, d.first)
			}
		}
	}
}
