package procseccomp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecFn runs a "#!" script through a symbolic link to its directory:
// /proc/PID/exe names the interpreter, ExecFn the script by the path it
// was executed as.
func TestExecFn(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "run.sh"), []byte("#!/bin/sh\nread line\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	given := filepath.Join(dir, "link", "run.sh")
	cmd := exec.Command(given)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	pid := cmd.Process.Pid
	// Until the kernel has executed the script, the child is this test.
	var got string
	ok := waitUntil(5*time.Second, func() bool {
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if err != nil || exe == mustExecutable(t) {
			return false
		}
		got, err = ExecFn(pid)
		return err == nil
	})
	if !ok {
		t.Fatalf("the script never ran")
	}
	if got != given {
		t.Errorf("ExecFn = %q, want %q", got, given)
	}
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); exe == given || strings.HasSuffix(exe, "run.sh") {
		t.Errorf("/proc/PID/exe is %q: the interpreter was expected", exe)
	}

	// This process, executed by go test under its own name.
	self, err := ExecFn(os.Getpid())
	if err != nil || filepath.Base(self) != filepath.Base(os.Args[0]) {
		t.Errorf("ExecFn(self) = %q, %v; os.Args[0] %q", self, err, os.Args[0])
	}
	if _, err := ExecFn(1 << 30); err == nil || !strings.Contains(err.Error(), syscall.ESRCH.Error()) {
		t.Errorf("ExecFn of no process: %v", err)
	}
}

func TestAuxvValue(t *testing.T) {
	if _, err := auxvValue(nil, atExecFn); err == nil {
		t.Errorf("an empty vector has AT_EXECFN")
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
