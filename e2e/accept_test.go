package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// The acceptance on real programs (issue 11): Debian's redis-server and
// nginx, each a unit of a real systemd user manager, run their workload
// through the filter of a policy with no kill, and a forbidden action is
// stopped. What a seccomp filter can and cannot stop here:
//
//   - An exec. fencer's filters answer every execve after the loader's own
//     with ENOSYS (exec once, docs/language.md), so an exec never runs; the
//     process is killed instead when it makes a call the policy does not
//     allow on the way there. Redis never execs: the test loads a rogue
//     module (MODULE LOAD, the known attack on Redis) whose constructor
//     execs a shell; it gets ENOSYS and exits 100 + errno, 138. nginx
//     execs its own binary on SIGUSR2 (binary upgrade): before the exec
//     its master renames the pid file, which neither policy allows, and is
//     killed there.
//   - A write to a file outside the data directory. seccomp sees numbers,
//     never paths, so no filter can tell a file in the data directory from
//     one elsewhere. What it can stop is a way of writing the workload
//     never used. Redis writes its RDB file in its working directory,
//     which is the data directory: to write elsewhere (CONFIG SET dir, the
//     known attack that writes authorized_keys or a crontab) it must chdir,
//     which a policy made from its steady state does not allow. An nginx
//     worker serving static files opens files read-only: a WebDAV PUT into
//     a directory outside the data directory writes the request body to a
//     new temporary file (O_RDWR|O_CREAT|O_EXCL) and renames it, which the
//     policy does not allow, and the worker is killed. Not stopped: a
//     write with the same calls and flags the workload used — a module
//     loaded into Redis that opens an absolute path with the RDB file's
//     flags would write there, and nginx's access log, opened by the
//     master and written through an fd number nginx chose, looks to the
//     filter like any other write.

// acceptPolicy is a configuration applied to a daemon.
type acceptPolicy struct {
	// name says where it comes from: "hand-written" (e2e/testdata/accept)
	// or "recorded" (fencer record).
	name string
	// files are the configuration's files, by name.
	files map[string]string
	// vars are -var flags beyond the host's scope and fencer_path.
	vars []string
}

// handWritten is the daemon's policy from e2e/testdata/accept.
func handWritten(t testing.TB, d *daemon) acceptPolicy {
	t.Helper()
	dir := filepath.Join(repo(t), "e2e", "testdata", "accept")
	p := acceptPolicy{name: "hand-written", files: map[string]string{}}
	for _, n := range []string{"host.fencer.hcl", d.kind + ".fencer.hcl"} {
		p.files[n] = readFile(t, filepath.Join(dir, n))
	}
	if d.kind == "redis" {
		p.vars = []string{"-var", "log_path=" + d.logPath()}
	}
	return p
}

// policyDir is a configuration directory holding a policy.
type policyDir struct {
	t      testing.TB
	um     *usermanager.Manager
	fencer string
	dir    string
	vars   []string
}

// install writes the policy's files into a new configuration directory.
func installPolicy(t testing.TB, um *usermanager.Manager, fencer string, p acceptPolicy) *policyDir {
	t.Helper()
	pd := &policyDir{t: t, um: um, fencer: fencer, dir: t.TempDir(),
		vars: append([]string{"-var", "scope=user", "-var", "fencer_path=" + fencer}, p.vars...)}
	for n, text := range p.files {
		writeFile(t, filepath.Join(pd.dir, n), text)
	}
	return pd
}

// run runs fencer COMMAND in the configuration directory, with the
// policy's variables when withVars.
func (pd *policyDir) run(withVars bool, command string, args ...string) result {
	pd.t.Helper()
	all := []string{command}
	if withVars {
		all = append(all, pd.vars...)
	}
	cmd := exec.Command(pd.fencer, append(all, args...)...)
	cmd.Dir, cmd.Env = pd.dir, pd.um.Env
	return run(pd.t, cmd)
}

// noKillSince checks that fencer why finds no seccomp record of the
// unit's processes since the time given (exit 2).
func (pd *policyDir) noKillSince(unit string, since time.Time) {
	pd.t.Helper()
	r := pd.run(true, "why", fmt.Sprintf("-since=@%d", since.Unix()), unit)
	if r.code != 2 || !strings.Contains(r.stdout, "No seccomp record of "+unit) {
		pd.t.Errorf("fencer why %s after the workload: want no seccomp record:\n%s", unit, r)
	}
}

// why logs what fencer why says about the unit's kills since the time
// given: the kernel logs at most 10 such records every 5 seconds, so a
// missing record is not a failure.
func (pd *policyDir) why(unit string, since time.Time) {
	pd.t.Helper()
	r := pd.run(true, "why", fmt.Sprintf("-since=@%d", since.Unix()), unit)
	var lines []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, " killed at ") || strings.HasPrefix(l, "  syscall:") || strings.HasPrefix(l, "  decided by") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	pd.t.Logf("fencer why %s (exit %d): %s", unit, r.code, strings.Join(lines, "; "))
}

// TestAcceptRedis: Debian's redis-server under its hand-written policy
// (see acceptDaemon).
func TestAcceptRedis(t *testing.T) {
	t.Parallel()
	acceptDaemon(t, "redis")
}

// TestAcceptNginx: Debian's nginx under its hand-written policy (see
// acceptDaemon).
func TestAcceptNginx(t *testing.T) {
	t.Parallel()
	acceptDaemon(t, "nginx")
}

// acceptDaemon runs the acceptance of one daemon kind in a user manager of
// its own: recorded by fencer record under its workload, then under the
// recorded policy and under the hand-written one in turn (each applied,
// tested and destroyed).
func acceptDaemon(t *testing.T, kind string) {
	need(t, hostArch() == "x86_64", "the policies are written for x86_64, not %s", hostArch())
	_, err := exec.LookPath("strace")
	need(t, err == nil, "no strace (Debian: apt-get install strace)")
	began := time.Now()
	um := usermanager.Start(t)
	fencer, _ := binaries(t)
	d := newDaemon(t, um, kind, kind+".service")
	pols := []acceptPolicy{recordDaemon(t, d, fencer), handWritten(t, d)}
	for _, pol := range pols {
		pd := installPolicy(t, um, fencer, pol)
		t.Run(pol.name, func(t *testing.T) {
			d.t, pd.t = t, t
			defer func() { d.t, pd.t = t, t }()
			phase := time.Now()
			// Destroyed also when the test fails, so that the next policy
			// applies to the unit as the vendor shipped it.
			defer func() {
				if r := pd.run(true, "destroy", "-auto-approve"); r.code != 0 {
					t.Errorf("destroy:\n%s", r)
				}
				d.stop()
			}()
			acceptUnderPolicy(t, d, pd)
			t.Logf("%s policy: %s", pol.name, time.Since(phase).Round(time.Millisecond))
		})
		d.t = t
	}
	t.Logf("%s: %s in all", kind, time.Since(began).Round(time.Millisecond))
}

// recordDaemon records the daemon's unit with fencer record -unit while
// its workload runs (fewer requests than the replay's: strace makes every
// call several times slower), stops the recording with SIGINT as a user's
// Ctrl-C would, and returns the configuration it wrote, with the host.
// With $FENCER_ACCEPT_KEEP set to a directory, the configuration and the
// recording (-json) are copied there, to be read after the test.
func recordDaemon(t testing.TB, d *daemon, fencer string) acceptPolicy {
	t.Helper()
	began := time.Now()
	cfg := t.TempDir()
	out := filepath.Join(cfg, d.kind+".fencer.hcl")
	cmd := exec.Command(fencer, "record", "-unit", d.unit, "-user", "-for", "90s", "-o", out, "-json", filepath.Join(cfg, d.kind+".json"))
	cmd.Env = d.um.Env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	ready := waitFor(30*time.Second, func() bool {
		if d.state()["ActiveState"] != "active" {
			return false
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", d.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if !ready {
		cmd.Process.Kill()
		<-waited
		t.Fatalf("%s did not come up under fencer record: %s\n%s\n--- log\n%s\n--- user manager\n%s", d.unit, d.state(), stderr.String(), d.log(), d.um.Log())
	}
	w := d.workload(d.requests() * 3 / 10)
	t.Logf("workload while recording, in %s: %d requests, %d failed\n  %s", w.Took.Round(time.Millisecond), w.Requests, w.Failed, strings.Join(w.Detail, "\n  "))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("fencer record: %v\n%s\n--- user manager\n%s", err, stderr.String(), d.um.Log())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("fencer record did not end within 60s of SIGINT\n%s", stderr.String())
	}
	t.Logf("fencer record -unit %s (%s):\n%s", d.unit, time.Since(began).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	if w.Failed > 0 {
		// The recording is not of the workload: its policy is not either.
		t.Fatalf("the workload failed while recording: %d of %d requests\n%s\n--- log\n%s", w.Failed, w.Requests, strings.Join(w.Detail, "\n"), d.logTail())
	}
	if s := d.state(); s["ActiveState"] != "inactive" {
		t.Errorf("%s after the recording: %s; want it stopped, as it was before", d.unit, s)
	}
	if k := os.Getenv("FENCER_ACCEPT_KEEP"); k != "" {
		writeFile(t, filepath.Join(k, d.kind+".fencer.hcl"), readFile(t, out))
		writeFile(t, filepath.Join(k, d.kind+".json"), readFile(t, filepath.Join(cfg, d.kind+".json")))
	}
	p := acceptPolicy{name: "recorded", files: map[string]string{
		"host.fencer.hcl":      readFile(t, filepath.Join(repo(t), "e2e", "testdata", "accept", "host.fencer.hcl")),
		d.kind + ".fencer.hcl": readFile(t, out),
	}}
	return p
}

// acceptUnderPolicy: fencer test passes; apply; the daemon starts under
// the filter, runs its workload with no failure and no kill, and stops
// cleanly; then the forbidden exec and the forbidden write are stopped.
func acceptUnderPolicy(t *testing.T, d *daemon, pd *policyDir) {
	if r := pd.run(false, "test"); r.code != 0 || !strings.Contains(r.stdout, "\nPASS\n") {
		t.Fatalf("fencer test:\n%s", r)
	}
	d.markLog()
	if r := pd.run(true, "apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s\n--- user manager\n%s", r, d.um.Log())
	}
	d.start()
	if mode, n := d.seccompStatus(); mode != "2" || n < 1 {
		t.Fatalf("%s's main process: Seccomp %s, %d filters; want filter mode", d.unit, mode, n)
	}
	pid := d.state()["MainPID"]
	since := time.Now()
	w := d.workload(d.requests())
	t.Logf("workload through the filter in %s: %d requests, %d failed, %.0f requests/s\n  %s",
		w.Took.Round(time.Millisecond), w.Requests, w.Failed, w.RPS, strings.Join(w.Detail, "\n  "))
	if w.Failed > 0 || w.Requests == 0 {
		t.Errorf("the workload failed under the filter: %d of %d requests\n%s\n--- log\n%s", w.Failed, w.Requests, strings.Join(w.Detail, "\n"), d.logTail())
	}
	s := d.state()
	if s["ActiveState"] != "active" || s["MainPID"] != pid {
		t.Errorf("after the workload %s is %s; want active, main process %s", d.unit, s, pid)
	}
	if d.kind == "nginx" && strings.Contains(d.log(), "exited on signal") {
		t.Errorf("an nginx worker died during the workload:\n%s", d.logTail())
	}
	if s := d.stop(); s["Result"] != "success" || s["ActiveState"] != "inactive" {
		t.Errorf("stopped under the filter: %s; want a clean stop (Result=success)\n--- log\n%s", s, d.logTail())
	}
	pd.noKillSince(d.unit, since)

	switch d.kind {
	case "redis":
		redisForbidden(t, d, pd)
	case "nginx":
		nginxForbidden(t, d, pd)
	}
}

// try runs a client whose exit status does not matter (the server it
// talks to is expected to die) and returns its output.
func try(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// redisForbidden: MODULE LOAD of a rogue module that execs a shell, and
// CONFIG SET dir outside the data directory followed by SAVE.
func redisForbidden(t *testing.T, d *daemon, pd *policyDir) {
	port := strconv.Itoa(d.port)
	marker := d.path("outside", "pwned")
	module := d.path("outside", "rogue.so")
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
		"-DMARKER=\""+marker+"\"", "-o", module, filepath.Join(repo(t), "e2e", "testdata", "accept", "rogue_module.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("gcc rogue_module.c: %v\n%s", err, out)
	}
	d.start()
	since := time.Now()
	reply := try("redis-cli", "-h", "127.0.0.1", "-p", port, "MODULE", "LOAD", module)
	s := d.waitStopped()
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the rogue module's shell ran: %s exists", marker)
	}
	switch {
	case s["ExecMainCode"] == "1" && s["ExecMainStatus"] == "138":
		t.Logf("exec: MODULE LOAD of a module that execs a shell: execve failed with ENOSYS (exec once), the module exited 138 (redis-cli: %q)", reply)
	case s.killedBySIGSYS():
		t.Logf("exec: MODULE LOAD of a module that execs a shell: redis killed by SIGSYS on the way (redis-cli: %q)", reply)
		pd.why(d.unit, since)
	default:
		t.Errorf("exec: after MODULE LOAD of a module that execs a shell, %s is %s; want its exec refused (exit 138) or the process killed by SIGSYS\nredis-cli: %s\n--- log\n%s", d.unit, s, reply, d.logTail())
	}

	d.start()
	since = time.Now()
	set := try("redis-cli", "-h", "127.0.0.1", "-p", port, "CONFIG", "SET", "dir", d.path("outside"))
	save := try("redis-cli", "-h", "127.0.0.1", "-p", port, "SAVE")
	s = d.waitStopped()
	if _, err := os.Stat(d.path("outside", "dump.rdb")); err == nil {
		t.Errorf("write: redis saved its RDB file outside the data directory")
	}
	if !s.killedBySIGSYS() {
		t.Errorf("write: after CONFIG SET dir %s and SAVE, %s is %s; want it killed by SIGSYS (chdir)\nCONFIG SET: %s\nSAVE: %s\n--- log\n%s",
			d.path("outside"), d.unit, s, set, save, d.logTail())
	} else {
		t.Logf("write: CONFIG SET dir outside the data directory: redis killed by SIGSYS (CONFIG SET: %q)", set)
		pd.why(d.unit, since)
	}
}

// nginxForbidden: SIGUSR2 (binary upgrade: the master execs nginx again),
// and a WebDAV PUT into a directory outside the data directory.
func nginxForbidden(t *testing.T, d *daemon, pd *policyDir) {
	d.markLog()
	d.start()
	since := time.Now()
	pid, _ := strconv.Atoi(d.state()["MainPID"])
	if pid <= 0 {
		t.Fatalf("%s has no main process: %s", d.unit, d.state())
	}
	started := strings.Count(d.log(), "start worker processes")
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	var s unitState
	waitFor(5*time.Second, func() bool {
		s = d.state()
		return s["ActiveState"] != "active" || strings.Contains(d.log(), "execve() failed")
	})
	if strings.Count(d.log(), "start worker processes") != started {
		t.Errorf("exec: after SIGUSR2 a new nginx master started workers:\n%s", d.logTail())
	}
	switch {
	case s.killedBySIGSYS():
		t.Logf("exec: SIGUSR2 (binary upgrade): the master was killed by SIGSYS before its execve")
		pd.why(d.unit, since)
	case strings.Contains(d.log(), "execve() failed") && strings.Contains(d.log(), "(38: Function not implemented)"):
		t.Logf("exec: SIGUSR2 (binary upgrade): execve failed with ENOSYS (exec once):\n%s", lineWith(d.log(), "execve() failed"))
	default:
		t.Errorf("exec: after SIGUSR2, %s is %s and nginx logged no failed execve\n--- log\n%s", d.unit, s, d.logTail())
	}
	d.stop()

	d.markLog()
	d.start()
	since = time.Now()
	target := d.path("outside", "upload", "pwned")
	code := try("curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "-T", d.path("nginx.conf"),
		fmt.Sprintf("http://127.0.0.1:%d/upload/pwned", d.port))
	if _, err := os.Stat(target); err == nil {
		t.Errorf("write: the PUT wrote %s", target)
	}
	if !waitFor(5*time.Second, func() bool { return strings.Contains(d.log(), "exited on signal 31") }) {
		t.Errorf("write: after a PUT outside the data directory no worker died of SIGSYS (curl: %s)\n--- log\n%s", code, d.logTail())
	} else {
		t.Logf("write: PUT outside the data directory: %s (curl: %s)", lineWith(d.log(), "exited on signal 31"), code)
		pd.why(d.unit, since)
	}
	// The master lives on and serves with a new worker.
	if s := d.state(); s["ActiveState"] != "active" {
		t.Errorf("write: after the worker's death %s is %s", d.unit, s)
	}
	if got := try("curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/index.html", d.port)); got != "200" {
		t.Errorf("write: nginx does not serve after the worker's death: %s", got)
	}
	d.stop()
}
