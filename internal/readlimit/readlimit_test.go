package readlimit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFile checks that File reads regular files up to the limit, through
// links, and refuses, at once and naming the file, a larger file, a
// device, a FIFO (which would block for ever) and a directory.
func TestFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("12345678"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{small, link} {
		if b, err := File(p, 8, "a test file"); err != nil || string(b) != "12345678" {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	var tl *TooLargeError
	if _, err := File(small, 7, "a test file"); !errors.As(err, &tl) || err.Error() != small+" is larger than 7 bytes, the limit for a test file" {
		t.Errorf("over the limit: %v", err)
	}
	zero := filepath.Join(dir, "zero.fencer.hcl")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for p, kind := range map[string]string{"/dev/zero": "a character device", zero: "a character device", fifo: "a FIFO", dir: "a directory"} {
		done := make(chan error, 1)
		go func() {
			_, err := File(p, 1<<20, "a test file")
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || err.Error() != p+" is "+kind+", not a regular file" {
				t.Errorf("%s: %v", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: File blocks", p)
		}
	}
}

// TestFileSizeUnknown: a regular file whose size says less than it holds
// (those of /proc say 0) is read whole, and still within the limit.
func TestFileSizeUnknown(t *testing.T) {
	want, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	b, err := File("/proc/self/status", 1<<20, "a test file")
	if err != nil || !strings.HasPrefix(string(b), "Name:") || len(b) < len(want)/2 {
		t.Errorf("/proc/self/status: %d bytes %q..., %v", len(b), b[:min(len(b), 20)], err)
	}
	var tl *TooLargeError
	if _, err := File("/proc/self/status", 100, "a test file"); !errors.As(err, &tl) {
		t.Errorf("/proc/self/status over 100 bytes: %v", err)
	}
}

// TestAll checks the limit on a stream, which has no size to stat.
func TestAll(t *testing.T) {
	if b, err := All(strings.NewReader("abc"), "standard input", 3, "input"); err != nil || string(b) != "abc" {
		t.Errorf("%q, %v", b, err)
	}
	if _, err := All(strings.NewReader("abcd"), "standard input", 3, "input"); err == nil || err.Error() != "standard input is larger than 3 bytes, the limit for input" {
		t.Errorf("over: %v", err)
	}
	if got := Size(4 << 20); got != "4 MiB (4194304 bytes)" {
		t.Errorf("Size: %s", got)
	}
}
