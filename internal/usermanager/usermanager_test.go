package usermanager

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	os.Exit(RunInNamespace(m))
}

// TestStopKillsLeftovers: a unit's process that the manager does not stop
// when it exits — here the unit file was removed and the manager
// reloaded while the service ran, so the unit lost its
// Conflicts=shutdown.target, as in e2e's TestVerifyVendorExecStart — is
// killed by Stop, and the manager's cgroups are gone.
func TestStopKillsLeftovers(t *testing.T) {
	m := Start(t)
	if len(m.cgroups) == 0 {
		unavailable(t, "the manager has no cgroup of its own")
	}
	unitDir := filepath.Join(m.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(unitDir, "leftover.service")
	pidFile := filepath.Join(m.Home, "pid")
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart=/bin/sh -c 'echo $$$$ >"+pidFile+"; exec sleep 1000'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Systemctl("start", "leftover.service"); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; {
		b, _ := os.ReadFile(pidFile)
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && running(p, "sleep") {
			pid = p
			break
		}
		if time.Now().After(deadline) {
			st, _ := m.Systemctl("status", "leftover.service")
			t.Fatalf("the service did not start:\n%s\n%s", st, m.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.Remove(unit); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Show("leftover.service", "LoadState"); s != "not-found" {
		t.Fatalf("LoadState %q, want not-found", s)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if running(pid, "sleep") {
		t.Errorf("pid %d (the unit's sleep) still runs after Stop", pid)
	}
	name := filepath.Base(m.cgroups[0])
	left, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if len(left) > 0 {
		t.Errorf("cgroups left after Stop: %q", left)
	}
	// Stopping again does nothing.
	if err := m.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// running reports whether pid is a live (not zombie) process whose
// command is comm.
func running(pid int, comm string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || len(s) < end+3 {
		return false
	}
	return s[open+1:end] == comm && s[end+2] != 'Z'
}
