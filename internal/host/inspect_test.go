package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileSum: the hash of a file, and a ctime that moves on when the file
// is replaced and put back, whatever its mtime says.
func TestFileSum(t *testing.T) {
	h, err := Local("local", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "loader")
	if err := os.WriteFile(p, []byte("fencer"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, changed, err := h.FileSum(ctx, p)
	if err != nil || sum != "684d00cea370566367a0a65115cd386dcb7d9c7a8c44491c4d71598d88e504a7" /* sha256 of "fencer" */ {
		t.Fatalf("FileSum = %s, %v", sum, err)
	}
	old := time.Now().Add(-time.Hour)
	time.Sleep(20 * time.Millisecond)
	if err := os.WriteFile(p, []byte("fencer"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, again, err := h.FileSum(ctx, p); err != nil || !again.After(changed) {
		t.Errorf("ctime %v, then %v after a rewrite dated back", changed, again)
	}
	if _, _, err := h.FileSum(ctx, t.TempDir()); err == nil {
		t.Errorf("a directory has a sum")
	}
	if sum, err := h.Fencer(ctx); err != nil || len(sum) != 64 {
		t.Errorf("Fencer() = %q, %v", sum, err)
	}
}
