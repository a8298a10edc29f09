package sshhost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyPermissions: a private key other users can read is refused, as
// ssh refuses it, whether given as identity_file or found in ~/.ssh.
func TestKeyPermissions(t *testing.T) {
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(home, ".ssh", "id_ed25519")
	key(t, file, "")
	k, err := loadKeys("web", "", file, home)
	if err != nil {
		t.Fatalf("a private key of mode 0600: %v", err)
	}
	k.close()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(file, mode); err != nil {
			t.Fatal(err)
		}
		for _, identity := range []string{file, ""} {
			_, err := loadKeys("web", "", identity, home)
			if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "chmod 600 "+file) || !strings.Contains(err.Error(), "host web") {
				t.Errorf("identity_file %q of mode %04o: %v", identity, mode, err)
			}
		}
	}
}
