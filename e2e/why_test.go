package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// whyJSON is the part of `fencer why -json` the tests read.
type whyJSON struct {
	Hosts []struct {
		Host   string `json:"host"`
		Unit   string `json:"unit"`
		Arch   string `json:"arch"`
		Events []struct {
			PID       int      `json:"pid"`
			Exe       string   `json:"exe"`
			MatchedBy []string `json:"matched_by"`
			Arch      string   `json:"arch"`
			Syscall   string   `json:"syscall"`
			Action    string   `json:"action"`
			Args      []string `json:"args"`
			ArgsFrom  string   `json:"args_from"`
			DecidedBy string   `json:"decided_by"`
			Default   struct {
				Action string `json:"action"`
				Where  struct {
					File string `json:"file"`
					Line int    `json:"line"`
				} `json:"where"`
			} `json:"default"`
			Rules []struct {
				Name  string `json:"name"`
				When  string `json:"when"`
				Held  *bool  `json:"held"`
				Where struct {
					File string `json:"file"`
					Line int    `json:"line"`
				} `json:"where"`
			} `json:"rules"`
			Explained bool `json:"explained"`
		} `json:"events"`
	} `json:"hosts"`
}

// lineOf returns the line number of the first line of the configuration
// file name that contains s.
func (w *world) lineOf(name, s string) int {
	w.t.Helper()
	for i, l := range strings.Split(readFile(w.t, filepath.Join(w.cfg, name)), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	w.t.Fatalf("%s has no line with %q", name, s)
	return 0
}

// violate starts the example (socket activation), has /violate kill it
// and returns the PID systemd says died by SIGSYS.
func (w *world) violate() string {
	w.t.Helper()
	// A unit that failed before cannot start until this (and one not
	// loaded yet has nothing to reset).
	_, _ = w.um.Systemctl("reset-failed", "metrics.service", "metrics.socket")
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		w.t.Fatalf("%v\n%s", err, w.um.Log())
	}
	if _, st, r := w.scrape("/metrics"); st != "200" {
		w.t.Fatalf("/metrics: %s", r)
	}
	pid := w.show("metrics.service", "MainPID")
	w.scrape("/violate")
	var props string
	if !waitFor(10*time.Second, func() bool {
		out, _ := w.um.Systemctl("show", "-p", "ActiveState,ExecMainStatus,ExecMainPID", "metrics.service")
		props = string(out)
		return strings.Contains(props, "ActiveState=failed") || strings.Contains(props, "ActiveState=inactive")
	}) {
		w.t.Fatalf("metrics.service did not stop after /violate:\n%s", props)
	}
	if !strings.Contains(props, "ExecMainStatus=31\n") || !strings.Contains(props, "ExecMainPID="+pid+"\n") {
		w.t.Fatalf("want pid %s ended by SIGSYS:\n%s", pid, props)
	}
	return pid
}

// TestWhy: /violate makes the example write to a client socket, which its
// policy kills; fencer why finds the kernel's record of the main process
// and names write on x86_64, decided by the default action because rule
// log_write allows write only to stderr and the log file, with where both
// are written in the configuration.
//
// Without an audit daemon the kernel logs at most 10 records every 5
// seconds: when other tests flood the kernel log with seccomp records at
// the same moment, the record can be dropped, and fencer why then says so
// (exit 2, the death by SIGSYS it knows from systemd). The test kills the
// server again, a few seconds apart, until a record gets through.
func TestWhy(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	w.mustApply()
	cfg := "metrics.fencer.hcl"
	ruleLine := w.lineOf(cfg, `rule "log_write" {`)
	defaultLine := w.lineOf(cfg, "default_action")
	since := fmt.Sprintf("-since=@%d", time.Now().Add(-time.Second).Unix())

	var pid string
	var r result
	for attempt := 1; ; attempt++ {
		pid = w.violate()
		r = w.fencerCmd("why", since, "metrics.service")
		if r.code == 0 && strings.Contains(r.stdout, "pid "+pid+" (metrics-server) killed at ") {
			break
		}
		if r.code != 0 && r.code != 2 || attempt == 6 {
			t.Fatalf("fencer why after %d kill(s):\n%s", attempt, r)
		}
		// The record of this kill did not get through the kernel's rate
		// limit: say so, not something else.
		if !strings.Contains(r.stdout, "pid "+pid+" (?) killed") || !strings.Contains(r.stdout, "neither a seccomp audit record nor a core dump of it was found") {
			t.Fatalf("fencer why without the record of pid %s:\n%s", pid, r)
		}
		t.Logf("attempt %d: the kernel log dropped the record of pid %s; killing the server again", attempt, pid)
		time.Sleep(6 * time.Second)
	}
	t.Logf("%s", r.stdout)
	for _, want := range []string{
		"\n  program:    " + w.server + "\n",
		"\n  syscall:    write (1) on x86_64\n",
		"\n  action:     kill_process (signal 31, SIGSYS), code 0x80000000\n",
		"\n  arguments:  not known: the kernel's audit record has no arguments",
		fmt.Sprintf("\n  decided by the default action kill_process (%s:%d), because no rule for write held:\n", cfg, defaultLine),
		fmt.Sprintf("\n    rule \"log_write\" (%s:%d) allows write only when arg0 == 2 || arg0 == fd.logfile (on x86_64: arg0 == 2 || arg0 == 1), so arg0 was neither 2 nor 1.\n", cfg, ruleLine),
		"\n  matched by: the unit's main process (systemd's ExecMainPID); its program, which is the unit's",
		"LimitCORE",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fencer why lacks %q", want)
		}
	}

	j := w.fencerCmd("why", "-json", since, "metrics")
	if j.code != 0 {
		t.Fatalf("why -json:\n%s", j)
	}
	var out whyJSON
	if err := json.Unmarshal([]byte(j.stdout), &out); err != nil {
		t.Fatalf("why -json: %v\n%s", err, j.stdout)
	}
	n, _ := strconv.Atoi(pid)
	found := false
	for _, ev := range out.Hosts[0].Events {
		if ev.PID != n {
			continue
		}
		found = true
		if ev.Syscall != "write" || ev.Arch != "x86_64" || ev.Action != "kill_process" || ev.DecidedBy != "default" ||
			ev.Default.Action != "kill_process" || ev.Default.Where.File != cfg || ev.Default.Where.Line != defaultLine ||
			len(ev.Rules) != 1 || ev.Rules[0].Name != "log_write" || ev.Rules[0].Where.Line != ruleLine ||
			ev.Rules[0].When != "arg0 == 2 || arg0 == fd.logfile" || ev.Rules[0].Held != nil || ev.Args != nil || !ev.Explained {
			t.Errorf("why -json event: %+v", ev)
		}
	}
	if !found || out.Hosts[0].Host != "local" || out.Hosts[0].Unit != "metrics.service" || out.Hosts[0].Arch != "x86_64" {
		t.Errorf("why -json: no event of pid %s:\n%s", pid, j.stdout)
	}

	// Nothing after now: exit 2, and it says so.
	none := w.fencerCmd("why", fmt.Sprintf("-since=@%d", time.Now().Add(time.Hour).Unix()), "metrics.service")
	if none.code != 2 || !strings.Contains(none.stdout, "No seccomp record of metrics.service's processes since") {
		t.Errorf("why with nothing to find:\n%s", none)
	}
}

// TestWhyCore: with LimitCORE=infinity in a drop-in of the unit, the
// killed server leaves a core in its working directory (the user
// manager's home: core_pattern is "core" on the test machines), and
// fencer why reads the write's arguments from it: the client socket's fd,
// which is neither stderr nor the log file. The core alone explains the
// kill, so this holds whether or not the kernel's rate limit let the
// audit record through.
func TestWhyCore(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	pattern := strings.TrimSpace(readFile(t, "/proc/sys/kernel/core_pattern"))
	need(t, !strings.HasPrefix(pattern, "|"), "core_pattern pipes cores to %q: the server's core does not land in its working directory", pattern)
	w := newWorld(t)
	writeFile(t, filepath.Join(w.unitDir, "metrics.service.d", "core.conf"), "[Service]\nLimitCORE=infinity\n")
	w.mustApply()
	cfg := "metrics.fencer.hcl"
	ruleLine := w.lineOf(cfg, `rule "log_write" {`)
	since := fmt.Sprintf("-since=@%d", time.Now().Add(-time.Second).Unix())

	pid := w.violate()
	if code := w.show("metrics.service", "ExecMainCode"); code != "3" {
		t.Fatalf("ExecMainCode=%s, want 3 (dumped core)", code)
	}
	r := w.fencerCmd("why", since, "metrics.service")
	t.Logf("%s", r.stdout)
	if r.code != 0 {
		t.Fatalf("fencer why:\n%s", r)
	}
	args := regexp.MustCompile(`(?m)^  arguments:  write\((0x[0-9a-f]+), 0x[0-9a-f]+, (0x[0-9a-f]+)\), from (.+)$`).FindStringSubmatch(r.stdout)
	if args == nil {
		t.Fatalf("fencer why shows no arguments:\n%s", r.stdout)
	}
	fd, _ := strconv.ParseInt(args[1], 0, 64)
	if fd <= 3 {
		t.Errorf("the write was to fd %d, want a client socket (above the listening socket, 3)", fd)
	}
	core := args[3]
	if filepath.Dir(core) != w.um.Home {
		t.Errorf("the core is %s, want one in the unit's working directory %s", core, w.um.Home)
	}
	if _, err := os.Stat(core); err != nil {
		t.Error(err)
	}
	for _, want := range []string{
		"pid " + pid + " (metrics-server) killed at ",
		"\n  syscall:    write (1) on x86_64\n",
		"no rule for write held with these arguments",
		fmt.Sprintf(`rule "log_write" (%s:%d) gives allow when arg0 == 2 || arg0 == fd.logfile (on x86_64: arg0 == 2 || arg0 == 1): false for arg0 = %d.`, cfg, ruleLine, fd),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fencer why lacks %q", want)
		}
	}
}
