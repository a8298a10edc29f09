package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestLockInProcess(t *testing.T) {
	h, _ := newRoot(t)
	ctx := context.Background()
	unlock, err := h.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A second Lock waits, then fails at the deadline naming the holder.
	ctx2, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = h.Lock(ctx2)
	waited := time.Since(began)
	if err == nil {
		t.Fatal("second Lock succeeded")
	}
	if waited < 190*time.Millisecond {
		t.Errorf("second Lock gave up after %s, before its deadline", waited)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d,", os.Getpid())) || !strings.Contains(err.Error(), "since ") || !strings.Contains(err.Error(), "command ") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), "context") {
		t.Errorf("the message speaks of contexts, not of the lock: %v", err)
	}
	// A waiting Lock gets it once it is released.
	got := make(chan error, 1)
	go func() {
		ctx3, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		u, err := h.Lock(ctx3)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("Lock after unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	h, dir := newRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=lock", "HOST_ROOT="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err = h.Lock(ctx)
	if err == nil {
		t.Fatal("Lock succeeded while a child process holds it")
	}
	want := fmt.Sprintf("another fencer holds the lock %s (pid %d, command %s", h.LockPath(), cmd.Process.Pid, exe)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}
	// The lock goes with the process that held it.
	cmd.Process.Kill()
	cmd.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := h.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockPaths(t *testing.T) {
	l, err := LocalEnv("l", ScopeUser, []string{"HOME=/home/u", "XDG_RUNTIME_DIR=/run/user/1000"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.LockPath(); got != "/run/user/1000/fencer.lock" {
		t.Errorf("user lock %s", got)
	}
	s, err := LocalEnv("l", ScopeSystem, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.LockPath(); got != "/run/fencer.lock" {
		t.Errorf("system lock %s", got)
	}
	r, dir := newRoot(t)
	if got := r.LockPath(); got != dir+"/.fencer.lock" {
		t.Errorf("root lock %s", got)
	}
}
