package host

import (
	"bufio"
	"bytes"
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWriteFileSurvivesSIGKILL kills a process rewriting files with
// WriteFile at many random points and checks that every file is always
// one whole version or the other — never partial, never missing — and
// that what an interrupted write leaves behind cannot be taken for a unit
// or drop-in, and is cleaned up by the next write.
func TestWriteFileSurvivesSIGKILL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := []string{
		"/etc/systemd/system/m.service",
		"/etc/systemd/system/m.service.d/zz-fencer.conf",
		"/etc/systemd/system/m.socket",
		"/etc/fencer/filters/m.service.bpf",
	}
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	seed := rng.Int63()
	t.Logf("seed %d", seed)
	rng.Seed(seed)
	killedMidWrite := 0
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), childEnv+"=writer", "HOST_ROOT="+dir, "HOST_FILES="+strings.Join(paths, " "))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("writer: %q %v: %s", line, err, stderr.String())
		}
		// Kill at a random point: up to 30ms in, with 1µs resolution.
		time.Sleep(time.Duration(rng.Intn(30000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("writer ended by itself (%v): %s", err, stderr.String())
		}
		if round == 0 {
			// The first round may end before the files exist.
			for _, p := range paths {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					round--
					break
				}
			}
			if round < 0 {
				continue
			}
		}
		killedMidWrite += checkFiles(t, dir, paths, false)
		if t.Failed() {
			t.Fatalf("after round %d", round)
		}
	}
	t.Logf("%d rounds; %d kills left a temporary file behind", rounds, killedMidWrite)

	// The next writes clean up.
	h, err := Root("r", dir, "", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if err := h.WriteFile(context.Background(), p, content(p, 0), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkFiles(t, dir, paths, true)
}

// checkFiles checks that each file holds one of its two versions and that
// the directories hold nothing but those files and (unless clean) hidden
// temporary files; it returns how many temporary files it found.
func checkFiles(t *testing.T, dir string, paths []string, clean bool) int {
	t.Helper()
	want := map[string]bool{}
	for _, p := range paths {
		want[filepath.Join(dir, p)] = true
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(got, content(p, 0)) && !bytes.Equal(got, content(p, 1)) {
			t.Errorf("%s: %d bytes that are neither version", p, len(got))
		}
	}
	temps := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || want[p] {
			return err
		}
		name := filepath.Base(p)
		switch {
		case clean:
			t.Errorf("left behind: %s", p)
		case !strings.HasPrefix(name, tmpPrefix):
			t.Errorf("unexpected file %s", p)
		default:
			temps++
			for _, suffix := range []string{".conf", ".service", ".socket", ".bpf"} {
				if strings.HasSuffix(name, suffix) {
					t.Errorf("temporary file %s ends in %s", p, suffix)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return temps
}
