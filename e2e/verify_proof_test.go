package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// Issue 7, items 9 and 10: verify never says "in sync" for a process whose
// filter it cannot read back unless evidence the service cannot forge
// proves it, and it compares the program a process runs with what the
// kernel executes for the unit's ExecStart= (symbolic links, "#!"
// scripts), not with the path as written.

// tracerPid returns the TracerPid of /proc/PID/status ("" when the
// process is gone).
func tracerPid(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "TracerPid:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// trace attaches strace to pid, as someone debugging the service would,
// and returns a function that detaches it again (also run at the test's
// end).
func (w *world) trace(pid string) (detach func()) {
	w.t.Helper()
	strace, err := exec.LookPath("strace")
	need(w.t, err == nil, "strace: %v", err)
	cmd := exec.Command(strace, "-qq", "-o", "/dev/null", "-p", pid)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	tracer := fmt.Sprint(cmd.Process.Pid)
	done := false
	detach = func() {
		if done {
			return
		}
		done = true
		cmd.Process.Signal(os.Interrupt) // strace detaches and exits
		cmd.Wait()
		if !waitFor(5*time.Second, func() bool { t := tracerPid(pid); return t == "0" || t == "" }) {
			w.t.Fatalf("pid %s still traced after strace exited", pid)
		}
	}
	w.t.Cleanup(detach)
	if !waitFor(5*time.Second, func() bool { return tracerPid(pid) == tracer }) {
		w.t.Fatalf("strace did not attach to pid %s: TracerPid %q", pid, tracerPid(pid))
	}
	return detach
}

// withoutSysAdmin runs a command as root without CAP_SYS_ADMIN, which the
// kernel requires to return a process's filters: verify as a user runs.
func withoutSysAdmin(t *testing.T) []string {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	need(t, err == nil, "setpriv: %v", err)
	return []string{setpriv, "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"}
}

// provenByRecord asserts that verify exits 0 and says the main process
// carries the planned filter as systemd's record proves it, its filters
// not being readable for the reason given.
func (w *world) provenByRecord(what string, v verified, unreadable string) {
	w.t.Helper()
	pid := w.mainPID()
	note := regexp.MustCompile(`(?m)^  metrics\.service  note: MainPID ` + pid + ` carries the planned filter: systemd started this process through the loader with the planned filter \(its ExecStart= record: pid ` + pid +
		`, started [^)]+\), and it has since executed ` + regexp.QuoteMeta(w.server) + `; its filters could not be read back \(.*` + regexp.QuoteMeta(unreadable) + `.*\)$`)
	if v.human.code != 0 || !strings.Contains(v.human.stdout, "host \"local\": in sync\n") || !note.MatchString(v.human.stdout) {
		w.t.Fatalf("%s: want exit 0, in sync, proven by systemd's record (%s):\n%s", what, unreadable, v.human)
	}
	w.t.Logf("%s: exit 0: %s", what, lineWith(v.human.stdout, "carries the planned filter"))
}

// TestVerifyUnreadableFilters: the loader's process traced by strace, or
// verify without CAP_SYS_ADMIN, is in sync only while systemd's record
// proves the loader started it, and "cannot prove" (exit 2) after a
// daemon-reload; a process started without the loader whose filters
// cannot be read back is never in sync: it lacks filters the kernel
// counts, or nothing proves it.
func TestVerifyUnreadableFilters(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("applied and started")
	noSysAdmin := withoutSysAdmin(t)

	// What verify says when the record is gone.
	cannotProve := func(w *world, v verified, pid, unreadable string) {
		w.t.Helper()
		w.driftedIn(v, "record gone", drift{kind: "process", subject: "MainPID " + pid,
			problem: "cannot prove that the process carries the planned filter: its filters could not be read back ("})
		if line := lineWith(v.human.stdout, "cannot prove"); !strings.Contains(line, unreadable) ||
			!strings.Contains(line, "and systemd no longer records which process it started for ExecStart= (it forgets on every daemon-reload)") {
			w.t.Errorf("the finding does not say why: %s", line)
		}
	}

	t.Run("the loader's process traced by strace", func(t *testing.T) {
		w := w.in(t)
		pid := w.mainPID()
		detach := w.trace(pid)
		w.serve() // it still serves, traced
		w.provenByRecord("traced", w.verify(), "already traced by pid ")
		w.systemctl("daemon-reload")
		cannotProve(w, w.verify(), pid, "already traced by pid ")
		detach()
		w.inSync("strace detached")
	})

	t.Run("verify without CAP_SYS_ADMIN", func(t *testing.T) {
		w := w.in(t)
		w.systemctl("restart", "metrics.service")
		w.serve()
		w.provenByRecord("without CAP_SYS_ADMIN", w.verifyVia(noSysAdmin), "needs CAP_SYS_ADMIN")
		w.systemctl("daemon-reload")
		cannotProve(w, w.verifyVia(noSysAdmin), w.mainPID(), "needs CAP_SYS_ADMIN")
		w.inSync("as root")
	})

	// The unit is put right again and systemd reloaded: its settings are
	// the planned ones, and only the process tells.
	override := filepath.Join(w.unitDir, "metrics.service.d", "zzz-local.conf")
	restore := func(w *world) {
		w.t.Helper()
		if err := os.Remove(override); err != nil {
			w.t.Fatal(err)
		}
		w.systemctl("daemon-reload")
	}
	startWith := func(w *world, conf string) string {
		w.t.Helper()
		writeFile(w.t, override, conf)
		w.systemctl("daemon-reload")
		w.systemctl("restart", "metrics.service")
		w.serve()
		return w.mainPID()
	}
	fewer := func(pid string, n int) drift {
		return drift{kind: "process", subject: "MainPID " + pid,
			problem: fmt.Sprintf("restart needed: the process does not carry the planned filter: the kernel counts %d seccomp filter(s) on it, and a start through the loader gives at least 3 (2 of systemd's for SystemCallArchitectures= and SystemCallFilter=, and the loader's)", n)}
	}

	t.Run("started without the loader, traced by strace", func(t *testing.T) {
		w := w.in(t)
		pid := startWith(w, "[Service]\nExecStart=\nExecStart="+w.server+"\n")
		restore(w)
		w.trace(pid)
		w.drifted("traced", fewer(pid, 2))
		w.driftedIn(w.verifyVia(noSysAdmin), "without CAP_SYS_ADMIN", fewer(pid, 2))
		w.systemctl("restart", "metrics.service")
		w.serve()
		w.inSync("restarted")
	})

	t.Run("started without the loader, traced by its own child", func(t *testing.T) {
		w := w.in(t)
		// The service, started without the loader nor systemd's
		// syscall filter, has a child trace it before it becomes the
		// server.
		script := filepath.Join(t.TempDir(), "traced-server")
		writeFile(t, script, "#!/bin/sh\nstrace -qq -o /dev/null -p $$ &\n"+
			"until grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$$/status; do sleep 0.01; done\nexec "+w.server+"\n")
		if err := os.Chmod(script, 0o755); err != nil {
			t.Fatal(err)
		}
		pid := startWith(w, "[Service]\nExecStart=\nExecStart="+script+"\nSystemCallFilter=\n")
		if tracerPid(pid) == "0" {
			t.Fatalf("pid %s is not traced", pid)
		}
		restore(w)
		w.drifted("traced by its child", fewer(pid, 1))
		w.systemctl("restart", "metrics.service")
		w.serve()
		w.inSync("restarted")
	})

	t.Run("started by the loader with another filter, traced", func(t *testing.T) {
		w := w.in(t)
		// The filter of the example with one rule widened: the kernel
		// counts as many filters as the planned start gives.
		other := t.TempDir()
		for _, n := range []string{"metrics.fencer.hcl", "metrics.service"} {
			writeFile(t, filepath.Join(other, n), readFile(t, filepath.Join(w.cfg, n)))
		}
		ow := w.in(t)
		ow.cfg = other
		ow.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
		r := ow.run("export", "bpf", "-arch="+hostArch(), "-out="+filepath.Join(other, "other.bpf"), "service.metrics")
		if r.code != 0 {
			t.Fatalf("export bpf:\n%s", r)
		}
		bpf := filepath.Join(other, "other.bpf")
		b, err := os.ReadFile(bpf)
		if err != nil {
			t.Fatal(err)
		}
		cmd := fmt.Sprintf("%s exec -filter=%s -sha256=%s -- %s", w.fencer, bpf, sha(b), w.server)
		pid := startWith(w, "[Service]\nExecStart=\nExecStart="+cmd+"\n")
		if s := readFile(t, "/proc/"+pid+"/status"); !strings.Contains(s, "\nSeccomp_filters:\t3\n") {
			t.Fatalf("/proc/%s/status:\n%s", pid, s)
		}
		w.trace(pid)
		// fencer would wrap the override's command: its drop-in is not
		// the plan's either.
		w.drifted("the unit starts the loader with another filter",
			drift{kind: "file", subject: w.dropInPath(), problem: "the drop-in differs from the plan"},
			drift{kind: "file", subject: override, problem: "this drop-in sets ExecStart= and sorts after fencer's zz-fencer.conf"},
			drift{"setting", "ExecStart", "the service is started through the loader, but not with the planned filter",
				fmt.Sprintf("%s exec -filter=%s -sha256=%s -- %s", w.fencer, w.filterPath(), sha([]byte(readFile(t, w.filterPath()))), cmd), cmd},
			drift{kind: "process", subject: "MainPID " + pid, problem: "the process was not started through the loader with the planned filter: systemd's record of this process is ExecStart=" + cmd + "; its filters could not be read back"})
		restore(w)
		v := w.verify()
		cannotProve(w, v, pid, "already traced by pid ")
		w.systemctl("restart", "metrics.service")
		w.serve()
		w.inSync("restarted")
	})
}

// TestVerifyResolvedProgram: the server started through a symbolic link
// to its directory, and through a "#!" script whose interpreter it is,
// verifies in sync after apply -restart; the link moved on to another
// install, or the unit switched to another script, is drift until the
// service restarts.
func TestVerifyResolvedProgram(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	bin, err := os.ReadFile(w.server)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := filepath.Join(dir, "v1", "metrics-server"), filepath.Join(dir, "v2", "metrics-server")
	for _, p := range []string{v1, v2} {
		writeFile(t, p, string(bin))
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "bin")
	if err := os.Symlink("v1", link); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(link, "metrics-server")

	// inSyncRunning asserts verify exits 0, the filter read back, and the
	// note naming the resolution compared.
	inSyncRunning := func(what, starts string) {
		t.Helper()
		v := w.verify()
		pid := w.mainPID()
		want := "  metrics.service  note: MainPID " + pid + " runs the program the unit starts: " + starts + "\n"
		if v.human.code != 0 || !strings.Contains(v.human.stdout, "host \"local\": in sync\n") ||
			!strings.Contains(v.human.stdout, "note: MainPID "+pid+" carries the planned filter (") || !strings.Contains(v.human.stdout, want) {
			t.Fatalf("%s: want exit 0, in sync, and %q:\n%s\n--- user manager\n%s", what, want, v.human, w.um.Log())
		}
		t.Logf("%s: exit 0: %s", what, strings.TrimSpace(want))
	}

	w.server = linked
	w.mustApply("-restart")
	// -restart restarts running units only: the new socket unit is
	// started here.
	w.systemctl("start", "metrics.socket")
	w.serve()
	inSyncRunning("through a symbolic link", linked+" -> "+v1+" (symbolic links)")
	pid := w.mainPID()

	// An upgrade moves the link on: the process runs the old install.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("v2", link); err != nil {
		t.Fatal(err)
	}
	w.drifted("the link moved on", drift{"process", "MainPID " + pid,
		"restart needed: the process runs another program than the unit now starts (the unit starts " + linked + " -> " + v2 + " (symbolic links))", v2, v1})
	w.systemctl("restart", "metrics.service")
	w.serve()
	inSyncRunning("restarted", linked+" -> "+v2+" (symbolic links)")

	// A "#!" script whose interpreter is the server, through the link.
	script := filepath.Join(dir, "metrics.sh")
	writeFile(t, script, "#!"+linked+"\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	w.server = script
	w.mustApply("-restart")
	w.serve()
	inSyncRunning("a #! script", script+": #!"+linked+" -> "+v2+" (symbolic links)")
	pid = w.mainPID()
	if exe, _ := os.Readlink("/proc/" + pid + "/exe"); exe != v2 {
		t.Fatalf("/proc/%s/exe is %q, want the interpreter %s", pid, exe, v2)
	}

	// The unit switches to another script with the same interpreter,
	// applied without a restart: the process runs the first.
	other := filepath.Join(dir, "metrics2.sh")
	writeFile(t, other, "#!"+linked+"\n")
	if err := os.Chmod(other, 0o755); err != nil {
		t.Fatal(err)
	}
	w.server = other
	w.mustApply()
	w.drifted("another script", drift{"process", "MainPID " + pid,
		"restart needed: the process runs another script than the unit now starts (the unit starts " + other + ": #!" + linked + " -> " + v2 + " (symbolic links); the process's script is the file name it was executed as, AT_EXECFN)", other, script})
	w.systemctl("restart", "metrics.service")
	w.serve()
	inSyncRunning("restarted", other+": #!"+linked+" -> "+v2+" (symbolic links)")
}

// TestVerifySystemdModeRestartNeeded: with enforce = "systemd", systemd's
// filter is not read back, so a process is in sync only when systemd
// started it under fencer's current drop-in; after a policy change
// applied without a restart it runs under the old SystemCallFilter=, and
// verify says restart needed (on the main it said in sync).
func TestVerifySystemdModeRestartNeeded(t *testing.T) {
	need(t, hostArch() == "x86_64", "the probe's policy is written for x86_64, not %s", hostArch())
	um := usermanager.Start(t)
	fencer, _ := binaries(t)
	probe := callsysBinary(t)
	cfg := t.TempDir()
	// callsys 34: pause(2), which waits for ever.
	config := func(extra string) string {
		return `host "local" {
  scope = "user"
  arch  = "x86_64"
}

service "pause" {
  unit           = "fencer-e2e-pause.service"
  unit_file      = "[Service]\nExecStart=` + probe + ` 34\n"
  enforce        = "systemd"
  default_action = kill_process

  rule "run" {
    syscalls = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                "prlimit64", "readlink", "getrandom", "mprotect", "exit_group", "pause"` + extra + `]
  }
}
`
	}
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), config(""))
	fc := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(fencer, args...)
		cmd.Dir, cmd.Env = cfg, um.Env
		return run(t, cmd)
	}
	if r := fc("apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s\n--- user manager\n%s", r, um.Log())
	}
	if out, err := um.Systemctl("start", "fencer-e2e-pause.service"); err != nil {
		t.Fatalf("start: %v %s\n%s", err, out, um.Log())
	}
	pid, _ := um.Show("fencer-e2e-pause.service", "MainPID")
	if r := fc("verify"); r.code != 0 || !strings.Contains(r.stdout, "note: MainPID "+pid+" runs under systemd's current SystemCallFilter=: systemd started it since it last loaded the unit") {
		t.Fatalf("verify after start:\n%s", r)
	}
	// The policy allows one more syscall; applied, not restarted.
	time.Sleep(20 * time.Millisecond) // the drop-in's mtime after the start, past the clock tick
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), config(`, "getppid"`))
	if r := fc("apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply of the change:\n%s", r)
	}
	r := fc("verify")
	want := "fencer-e2e-pause.service  process MainPID " + pid + ": restart needed: the process started at "
	if r.code != 2 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "before fencer's drop-in (its SystemCallFilter=) was written at ") {
		t.Fatalf("verify after the change: want exit 2 and %q:\n%s", want, r)
	}
	t.Logf("applied without restart: exit 2: %s", lineWith(r.stdout, "restart needed"))
	if out, err := um.Systemctl("restart", "fencer-e2e-pause.service"); err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}
	if r := fc("verify"); r.code != 0 {
		t.Fatalf("verify after the restart:\n%s", r)
	}
}

// fakeLoaderBinary builds e2e/testdata/fakeloader.c (once).
var fakeLoader struct {
	once sync.Once
	path string
	err  error
}

func fakeLoaderBinary(t *testing.T) string {
	t.Helper()
	need(t, hostArch() == "x86_64", "fakeloader.c is written for x86_64, not %s", hostArch())
	binaries(t) // the build directory
	fakeLoader.once.Do(func() {
		fakeLoader.path = filepath.Join(build.dir, "fakeloader")
		out, err := exec.Command("gcc", "-static", "-nostdlib", "-no-pie", "-fno-stack-protector", "-O2", "-Wall", "-Wextra", "-Werror",
			"-o", fakeLoader.path, filepath.Join(repo(t), "e2e", "testdata", "fakeloader.c")).CombinedOutput()
		if err != nil {
			fakeLoader.err = fmt.Errorf("gcc fakeloader.c: %v\n%s", err, out)
		}
	})
	need(t, fakeLoader.err == nil, "%v", fakeLoader.err)
	return fakeLoader.path
}

// TestVerifyFakeLoader: the loader at fencer_path replaced by one that
// installs a filter allowing everything instead of the planned one (what a
// service that can write it could do before its next start), the service
// restarted through it and traced: systemd's record says it started the
// loader with the planned filter, and the kernel counts as many filters as
// the real loader leaves, yet verify cannot prove it (exit 2), also once
// the real loader is put back; read back, the filter is not the planned
// one. On the main this was in sync.
func TestVerifyFakeLoader(t *testing.T) {
	w := newWorld(t)
	fake := fakeLoaderBinary(t)
	// The loader is a copy of fencer, so that the fencer verify runs
	// stays what it is.
	loader := filepath.Join(t.TempDir(), "fencer")
	install := func(from string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		tmp := loader + ".new"
		if err := os.WriteFile(tmp, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, loader); err != nil {
			t.Fatal(err)
		}
	}
	install(w.fencer)
	at := []string{"-var", "fencer_path=" + loader}
	w.mustApply(at...)
	w.systemctl("start", "metrics.socket")
	w.serve()
	if v := w.verify(at...); v.human.code != 0 {
		t.Fatalf("applied: %s", v.human)
	}

	install(fake)
	w.systemctl("restart", "metrics.service")
	w.serve()
	pid := w.mainPID()
	if s := readFile(t, "/proc/"+pid+"/status"); !strings.Contains(s, "\nSeccomp_filters:\t3\n") {
		t.Fatalf("/proc/%s/status:\n%s", pid, s)
	}
	detach := w.trace(pid)
	unproven := func(what, why string) {
		t.Helper()
		v := w.driftedIn(w.verify(at...), what, drift{kind: "process", subject: "MainPID " + pid,
			problem: "cannot prove that the process carries the planned filter: its filters could not be read back ("})
		if line := lineWith(v.human.stdout, "cannot prove"); !strings.Contains(line, why) {
			t.Errorf("%s: the finding does not say %q: %s", what, why, line)
		}
	}
	unproven("the fake loader in place", "and systemd started it through the loader "+loader+", which is not this fencer (sha256 ")
	install(w.fencer)
	unproven("the real loader put back", "and systemd started it through the loader "+loader+", which changed at ")
	detach()
	w.driftedIn(w.verify(at...), "read back", drift{kind: "process", subject: "MainPID " + pid,
		problem: "restart needed: the process does not carry the planned filter, which systemd's ExecStart= now installs"})
	w.systemctl("restart", "metrics.service")
	w.serve()
	if v := w.verify(at...); v.human.code != 0 {
		t.Fatalf("restarted with the real loader: %s", v.human)
	}
}
