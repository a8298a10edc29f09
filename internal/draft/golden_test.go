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
// in testdata/golden: the small daemon on x86_64, on i386 (32 bits,
// 64-bit arguments split, mmap's arguments in memory) and on s390x
// (mmap's arguments in memory); the threaded server on x86_64 and
// aarch64 (no clone's flags on s390x's arg0 there), echo on x86_64.
var goldenCases = []struct{ rec, arch string }{
	{"small_daemon", "x86_64"}, {"small_daemon", "i386"}, {"small_daemon", "s390x"},
	{"threaded_server", "x86_64"}, {"threaded_server", "aarch64"}, {"threaded_server", "s390x"},
	{"echo", "x86_64"},
}

// TestGolden: the drafts of the hand-made recordings, byte for byte (go
// test -run Golden -update rewrites them after a change that means to
// move them; read the diff).
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
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
