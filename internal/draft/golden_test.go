package draft

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fencer-dev/fencer/internal/textdiff"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCases are the recordings and architectures whose drafts are kept
// in testdata/golden: the small daemon on every architecture (clone's
// flags move on s390x, 32-bit architectures split 64-bit arguments), the
// others on two.
func goldenCases() []struct{ rec, arch string } {
	var out []struct{ rec, arch string }
	for _, a := range []string{"x86_64", "aarch64", "i386", "arm", "riscv64", "ppc64le", "s390x"} {
		out = append(out, struct{ rec, arch string }{"small_daemon", a})
	}
	for _, r := range []string{"threaded_server", "echo"} {
		for _, a := range []string{"x86_64", "aarch64"} {
			out = append(out, struct{ rec, arch string }{r, a})
		}
	}
	return out
}

// TestGolden: the drafts of the hand-made recordings, byte for byte (go
// test -run Golden -update rewrites them after a change that means to
// move them; read the diff).
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.rec+"/"+tc.arch, func(t *testing.T) {
			out, err := Write(recordings[tc.rec](tc.arch), Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tc.rec+"_"+tc.arch+".fencer.hcl")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(want) != string(out) {
				t.Errorf("%s differs (go test -run Golden -update rewrites it):\n%s", path, textdiff.Unified(path, "Write", want, out, 3))
			}
		})
	}
}
