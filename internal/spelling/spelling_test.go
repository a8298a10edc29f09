package spelling

import (
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

func TestNearest(t *testing.T) {
	cands := []string{"openat", "open", "close", "read", "readv", "write", "writev", "newfstatat", "clone", "clone3"}
	tests := []struct{ name, want string }{
		{"opne", "open"},    // transposition
		{"wirte", "write"},  // transposition
		{"opnat", "openat"}, // deletion
		{"newfstatatt", "newfstatat"},
		{"READ", "read"},   // case-insensitive
		{"clone", "clone"}, // exact
		{"xyzzy", ""},      // nothing close
		{"mprotect", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.name, cands); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Ties go to the lexically smallest candidate, whatever the order.
	if got := Nearest("rea", []string{"readv", "read", "real"}); got != "read" {
		t.Errorf("tie: got %q, want read", got)
	}
	if got := Nearest("abcd", nil); got != "" {
		t.Errorf("no candidates: got %q", got)
	}
	// The limit is max(2, len/3): distance 3 is too far for a 6-letter name.
	if got := Nearest("abcxyz", []string{"abcdef"}); got != "" {
		t.Errorf("distance 3 on 6 letters: got %q", got)
	}
	// ... but fine for a 9-letter one.
	if got := Nearest("abcdefxyz", []string{"abcdefghi"}); got != "abcdefghi" {
		t.Errorf("distance 3 on 9 letters: got %q", got)
	}
	if got := Nearest("opennat", arch.X86_64.SyscallNames()); got != "openat" {
		t.Errorf("SuggestSyscall(opennat) = %q", got)
	}
	if got := Nearest("O_CLOEXE", arch.X86_64.ConstNames()); got != "O_CLOEXEC" {
		t.Errorf("SuggestConst(O_CLOEXE) = %q", got)
	}
}

func TestOSADistance(t *testing.T) {
	tests := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"ca", "abc", 3}, {"open", "opne", 1}, {"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := osaDistance([]rune(tt.a), []rune(tt.b), 100); got != tt.d {
			t.Errorf("osaDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
		if got := osaDistance([]rune(tt.b), []rune(tt.a), 100); got != tt.d {
			t.Errorf("osaDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.d)
		}
	}
}
