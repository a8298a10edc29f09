package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// seccompMode reads the Seccomp: line of a process's status.
func seccompMode(t *testing.T, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestDestroyRunning: destroy of a running unit. The example's unit is
// fencer's (unit_file): destroy removes it and stops the service and its
// socket. A vendor unit fencer only wrapped keeps running, restarted so
// that it runs as its own unit says, without fencer's filter; with -stop
// it is stopped instead. Each says "Destroy complete!".
func TestDestroyRunning(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")

	// fencer's own unit: stopped.
	w := newWorld(t)
	w.mustApply()
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		t.Fatal(err)
	}
	if _, status, r := w.scrape("/metrics"); status != "200" {
		t.Fatalf("scrape: %s", r)
	}
	r := w.fencerCmd("destroy", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Files: 4 destroyed.") ||
		!strings.Contains(r.stdout, "stopped metrics.socket") || !strings.Contains(r.stdout, "stopped metrics.service") {
		t.Fatalf("destroy:\n%s", r)
	}
	for _, u := range []string{"metrics.socket", "metrics.service"} {
		if got := w.show(u, "ActiveState"); got != "inactive" {
			t.Errorf("%s is %s after destroy", u, got)
		}
	}

	// A vendor unit: restarted without the filter, or stopped.
	for _, stop := range []bool{false, true} {
		w := newWorld(t)
		cfg := t.TempDir()
		writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), `host "local" {
  scope       = "user"
  fencer_path = "`+w.fencer+`"
}
service "sleeper" {
  unit = "sleeper.service"
  rule "sleep" {
    # /bin/sleep, dynamically linked (strace)
    syscalls = ["access", "arch_prctl", "brk", "clock_nanosleep", "close", "execve", "exit_group", "futex",
                "getrandom", "mmap", "mprotect", "munmap", "newfstatat", "openat", "pread64", "prlimit64",
                "read", "rseq", "set_robust_list", "set_tid_address", "restart_syscall", "rt_sigreturn"]
  }
}
`)
		writeFile(t, filepath.Join(w.um.RuntimeDir, "systemd", "user", "sleeper.service"), "[Service]\nExecStart=/bin/sleep 1000\n")
		fc := func(args ...string) result {
			cmd := exec.Command(w.fencer, args...)
			cmd.Dir, cmd.Env = cfg, w.um.Env
			return run(t, cmd)
		}
		if r := fc("apply", "-auto-approve"); r.code != 0 {
			t.Fatalf("apply:\n%s", r)
		}
		if _, err := w.um.Systemctl("start", "sleeper.service"); err != nil {
			t.Fatal(err)
		}
		before := w.show("sleeper.service", "MainPID")
		if m := seccompMode(t, before); m != "2" {
			t.Fatalf("Seccomp: %s under fencer", m)
		}
		args := []string{"destroy", "-auto-approve"}
		if stop {
			args = append(args, "-stop")
		}
		r := fc(args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Files: 2 destroyed.") {
			t.Fatalf("%v:\n%s", args, r)
		}
		if stop {
			if !strings.Contains(r.stdout, "stopped sleeper.service") || w.show("sleeper.service", "ActiveState") != "inactive" {
				t.Errorf("destroy -stop did not stop sleeper.service:\n%s", r)
			}
			continue
		}
		after := w.show("sleeper.service", "MainPID")
		if !strings.Contains(r.stdout, "restarted sleeper.service") || after == before || after == "0" {
			t.Fatalf("destroy did not restart sleeper.service (MainPID %s -> %s):\n%s", before, after, r)
		}
		if m := seccompMode(t, after); m != "0" {
			t.Errorf("Seccomp: %s after destroy: the service still runs under a filter", m)
		}
	}
}

// TestRestartLeavesStoppedUnits: apply -restart restarts the units whose
// files changed. A socket unit the administrator had stopped was started
// by it (systemctl restart starts a unit that is not running), and apply
// said "restarted metrics.socket": the service was reachable again. Now a
// stopped unit stays stopped, as a stopped service always did.
func TestRestartLeavesStoppedUnits(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	w.mustApply()
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.systemctl("stop", "metrics.socket", "metrics.service")
	// A new port changes the socket unit.
	w.port = freePort(t)
	r := w.mustApply("-restart")
	if strings.Contains(r.stdout, "restarted metrics.socket") {
		t.Errorf("apply -restart says it restarted a stopped socket unit:\n%s", r)
	}
	for _, u := range []string{"metrics.socket", "metrics.service"} {
		if s := w.show(u, "ActiveState"); s != "inactive" {
			t.Errorf("%s after apply -restart: %s, want inactive (it was stopped)", u, s)
		}
	}
	// A running one is restarted, on its new port.
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.port = freePort(t)
	if r := w.mustApply("-restart"); !strings.Contains(r.stdout, "restarted metrics.socket") {
		t.Errorf("apply -restart of a running socket unit:\n%s", r)
	}
	w.serve()
}
