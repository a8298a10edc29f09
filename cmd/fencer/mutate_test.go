package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutatedConfigurations runs validate and test on random mutations of
// the metrics example: whatever the input, fencer exits 0 or 1 and never
// panics. FENCER_MUTATE_SEED and FENCER_MUTATE_N change the seed and
// the number of mutations, to search further.
func TestMutatedConfigurations(t *testing.T) {
	src := map[string][]byte{}
	for _, name := range []string{"metrics.fencer.hcl", "tests.fencer.hcl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "metrics", name))
		if err != nil {
			t.Skipf("example not found: %v", err)
		}
		src[name] = b
	}
	pieces := []string{"{", "}", "[", "]", "\"", "(", ")", ",", "=", "==", "&&", "!", "arg6", "fd.", "var.", "-1",
		"18446744073709551616", "0x", "\n", "#", "${", "syscall_set.", "contains(", "masked(", "errno(", "null"}
	seed := int64(1)
	if v := os.Getenv("FENCER_MUTATE_SEED"); v != "" {
		fmt.Sscan(v, &seed)
	}
	rng := rand.New(rand.NewSource(seed))
	iterations := 100
	if testing.Short() {
		iterations = 30
	}
	if v := os.Getenv("FENCER_MUTATE_N"); v != "" {
		fmt.Sscan(v, &iterations)
	}
	for i := 0; i < iterations; i++ {
		dir := t.TempDir()
		for name, b := range src {
			b = append([]byte(nil), b...)
			if rng.Intn(2) == 0 || name == "metrics.fencer.hcl" {
				for k := rng.Intn(3) + 1; k > 0; k-- {
					b = mutate(rng, b, pieces)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, cmd := range []string{"validate", "test"} {
			var stdout, stderr bytes.Buffer
			code := -1
			func() {
				defer func() {
					if r := recover(); r != nil {
						b, _ := os.ReadFile(filepath.Join(dir, "metrics.fencer.hcl"))
						t.Fatalf("fencer %s panics: %v\non metrics.fencer.hcl:\n%s", cmd, r, b)
					}
				}()
				code = run([]string{cmd, "-no-color", dir}, strings.NewReader(""), &stdout, &stderr, nil)
			}()
			if code != exitOK && code != exitError {
				t.Fatalf("fencer %s exits %d", cmd, code)
			}
		}
	}
}

// mutate deletes, duplicates or inserts a piece of b at a random place.
func mutate(rng *rand.Rand, b []byte, pieces []string) []byte {
	if len(b) == 0 {
		return []byte(pieces[rng.Intn(len(pieces))])
	}
	at := rng.Intn(len(b))
	switch rng.Intn(3) {
	case 0:
		end := min(len(b), at+1+rng.Intn(8))
		return append(b[:at:at], b[end:]...)
	case 1:
		end := min(len(b), at+1+rng.Intn(16))
		return append(b[:end:end], b[at:]...)
	}
	p := pieces[rng.Intn(len(pieces))]
	return append(b[:at:at], append([]byte(p), b[at:]...)...)
}
