package sshhost

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	k, err := loadKeys("web", "", file, home, time.Second)
	if err != nil {
		t.Fatalf("a private key of mode 0600: %v", err)
	}
	k.close()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(file, mode); err != nil {
			t.Fatal(err)
		}
		for _, identity := range []string{file, ""} {
			_, err := loadKeys("web", "", identity, home, time.Second)
			if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "chmod 600 "+file) || !strings.Contains(err.Error(), "host web") {
				t.Errorf("identity_file %q of mode %04o: %v", identity, mode, err)
			}
		}
	}
}

// TestSilentAgent: an ssh-agent that never answers (one waiting for a
// confirmation nobody gives) fails the login at the connect timeout.
func TestSilentAgent(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	listen(t, "unix", sock, func(c net.Conn) { io.Copy(io.Discard, c) })
	errc := make(chan error, 1)
	began := time.Now()
	go func() {
		k, err := loadKeys("web", sock, "", dir, time.Second)
		if err == nil {
			k.close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), sock) || time.Since(began) > 3*time.Second {
			t.Errorf("loadKeys = %v after %s", err, time.Since(began))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an ssh-agent that never answers holds fencer")
	}
}
