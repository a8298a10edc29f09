package e2e

import (
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

// scrape fetches a path of the example server with the curl binary and
// returns the body and the HTTP status curl reports.
func (w *world) scrape(path string) (body, status string, r result) {
	w.t.Helper()
	cmd := exec.Command("curl", "-sS", "--max-time", "10", "-o", "-", "-w", "%{http_code}",
		fmt.Sprintf("http://127.0.0.1:%d%s", w.port, path))
	r = run(w.t, cmd)
	if len(r.stdout) < 3 {
		return r.stdout, "", r
	}
	return r.stdout[:len(r.stdout)-3], r.stdout[len(r.stdout)-3:], r
}

// TestServesUnderPolicy: apply the example in user scope, start its socket,
// scrape it 100 times, see the filter on the process, see /exec fail to
// exec anything (exec once), and have /violate kill it with SIGSYS.
func TestServesUnderPolicy(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	apply := w.mustApply()
	if !strings.Contains(apply.stdout, "Apply complete! Files: 4 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply output:\n%s", apply)
	}
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		t.Fatalf("%v\n%s", err, w.um.Log())
	}

	counter := regexp.MustCompile(`(?m)^metrics_requests_total\{path="/metrics"\} (\d+)$`)
	for i := 1; i <= 100; i++ {
		body, status, r := w.scrape("/metrics")
		if r.code != 0 || status != "200" {
			t.Fatalf("scrape %d: curl exit %d, status %q\n%s", i, r.code, status, r)
		}
		if !strings.Contains(body, "# TYPE metrics_requests_total counter\n") || !strings.Contains(body, "# TYPE metrics_uptime_seconds gauge\n") {
			t.Fatalf("scrape %d: not the server's Prometheus text:\n%s", i, body)
		}
		// One process answered them all, counting.
		if m := counter.FindStringSubmatch(body); m == nil || m[1] != strconv.Itoa(i) {
			t.Fatalf("scrape %d: counter %v, want %d:\n%s", i, m, i, body)
		}
	}
	t.Logf("100 scrapes: status 200, Prometheus text, counter 1..100")

	pid := w.show("metrics.service", "MainPID")
	if pid == "0" || pid == "" {
		t.Fatalf("MainPID %q", pid)
	}
	status := readFile(t, "/proc/"+pid+"/status")
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s*(\S+)$`).FindStringSubmatch(status)
		if m == nil {
			t.Fatalf("/proc/%s/status has no %s:\n%s", pid, name, status)
		}
		return m[1]
	}
	if got := field("Seccomp"); got != "2" {
		t.Errorf("Seccomp: %s, want 2 (filter mode)", got)
	}
	if n, err := strconv.Atoi(field("Seccomp_filters")); err != nil || n < 1 {
		t.Errorf("Seccomp_filters: %d %v", n, err)
	}
	if got := field("NoNewPrivs"); got != "1" {
		t.Errorf("NoNewPrivs: %s", got)
	}
	// The server, not the loader, runs under it.
	if exe, err := os.Readlink("/proc/" + pid + "/exe"); err != nil || exe != w.server {
		t.Errorf("/proc/%s/exe is %q (%v), want %s", pid, exe, err, w.server)
	}
	t.Logf("pid %s: Seccomp %s, Seccomp_filters %s, NoNewPrivs %s", pid, field("Seccomp"), field("Seccomp_filters"), field("NoNewPrivs"))

	// The log file has a line per request, written through fd 1.
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z GET /metrics 200 \d+$`)
	var lines []string
	waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(w.log)
		lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		return len(lines) >= 100
	})
	if len(lines) != 100 {
		t.Fatalf("log has %d lines, want 100", len(lines))
	}
	for i, l := range lines {
		if !line.MatchString(l) {
			t.Fatalf("log line %d: %q", i+1, l)
		}
	}

	// GET /exec: the server tries to exec its probe. The example names
	// execve in no rule, so the loader's exec was the only one: the kernel
	// fails this one with ENOSYS, the server says so and serves on, and
	// the probe never runs.
	body, st, r := w.scrape("/exec")
	if r.code != 0 || st != "500" || body != "execve of the exec probe failed: errno 38 (ENOSYS: no exec after start)\n" {
		t.Errorf("/exec: curl exit %d, status %q, body %q; want 500 and ENOSYS", r.code, st, body)
	}
	body, st, r = w.scrape("/metrics")
	if r.code != 0 || st != "200" || !strings.Contains(body, "\nmetrics_requests_total{path=\"/exec\"} 1\n") {
		t.Errorf("/metrics after /exec: curl exit %d, status %q:\n%s", r.code, st, body)
	}
	if now := w.show("metrics.service", "MainPID"); now != pid {
		t.Errorf("MainPID %s after /exec, was %s", now, pid)
	}
	waitFor(5*time.Second, func() bool { return strings.Contains(readFile(t, w.log), " GET /exec 500 ") })
	if b := readFile(t, w.log); !strings.Contains(b, " GET /exec 500 ") || strings.Contains(b, "exec probe ran") {
		t.Errorf("want a 500 for /exec in the log, and nothing from the probe:\n%s", b)
	}
	t.Logf("/exec: 500, %q; the server serves on as pid %s", "errno 38", pid)

	// write(2) on a client socket: the filter kills the server.
	body, st, r = w.scrape("/violate")
	if r.code == 0 || st != "000" || strings.Contains(body, "written with write(2)") {
		t.Errorf("/violate was answered: curl exit %d, status %q, body %q", r.code, st, body)
	}
	var props string
	if !waitFor(10*time.Second, func() bool {
		out, _ := w.um.Systemctl("show", "-p", "ActiveState,Result,ExecMainCode,ExecMainStatus,ExecMainPID", "metrics.service")
		props = string(out)
		return strings.Contains(props, "ActiveState=failed") || strings.Contains(props, "ActiveState=inactive")
	}) {
		t.Fatalf("metrics.service did not stop after /violate:\n%s", props)
	}
	if !strings.Contains(props, "ExecMainStatus=31\n") || !regexp.MustCompile(`(?m)^Result=(signal|core-dump)$`).MatchString(props) ||
		!strings.Contains(props, "ExecMainPID="+pid+"\n") {
		t.Errorf("after /violate, want pid %s ended by SIGSYS (31):\n%s", pid, props)
	}
	t.Logf("after /violate:\n%s", props)
	b, _ := os.ReadFile(w.log)
	if !strings.Contains(string(b), " GET /violate 200 ") {
		t.Errorf("the log lacks the /violate request:\n%s", b)
	}
}

// TestExecAllowedByPolicy: a policy that allows execve keeps it. With
// execve named in the example's startup set (as it was before exec once),
// GET /exec replaces the server with the exec probe, in the same process
// and under the same filter: the probe logs its line and exits 0, and the
// client's connection closes unanswered.
func TestExecAllowedByPolicy(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", `    "brk", "set_tid_address",`, `    "execve", "brk", "set_tid_address",`)
	if r := w.fencerCmd("validate"); r.code != 0 || strings.Contains(r.stdout, "exec once") {
		t.Fatalf("validate with execve allowed:\n%s", r)
	}
	w.mustApply()
	if _, err := w.um.Systemctl("start", "metrics.socket"); err != nil {
		t.Fatalf("%v\n%s", err, w.um.Log())
	}
	if _, st, r := w.scrape("/metrics"); r.code != 0 || st != "200" {
		t.Fatalf("/metrics: curl exit %d, status %q", r.code, st)
	}
	pid := w.show("metrics.service", "MainPID")
	body, st, r := w.scrape("/exec")
	if r.code == 0 || st != "000" || body != "" {
		t.Errorf("/exec was answered: curl exit %d, status %q, body %q", r.code, st, body)
	}
	var props string
	if !waitFor(10*time.Second, func() bool {
		out, _ := w.um.Systemctl("show", "-p", "ActiveState,Result,ExecMainCode,ExecMainStatus,ExecMainPID", "metrics.service")
		props = string(out)
		return strings.Contains(props, "ActiveState=inactive") || strings.Contains(props, "ActiveState=failed")
	}) {
		t.Fatalf("metrics.service still runs after /exec:\n%s", props)
	}
	if !strings.Contains(props, "ExecMainStatus=0\n") || !strings.Contains(props, "ExecMainPID="+pid+"\n") {
		t.Errorf("after /exec, want pid %s to have exited 0, as the probe does:\n%s", pid, props)
	}
	if b := readFile(t, w.log); !strings.Contains(b, "metrics: exec probe ran as pid "+pid+"\n") {
		t.Errorf("the probe did not log that it ran as pid %s:\n%s", pid, b)
	}
	t.Logf("after /exec with execve allowed: the probe ran as pid %s\n%s", pid, props)
}

// TestPlanShowsOnlyWhatChanged: a second plan finds nothing; a changed rule
// changes exactly the filter and the drop-in; applying twice changes
// nothing.
func TestPlanShowsOnlyWhatChanged(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	code, r := w.planCode()
	if code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("second plan:\n%s", r)
	}
	before := snapshot(t, w.um.Home)
	again := w.mustApply()
	if !strings.Contains(again.stdout, "No changes.") || strings.Contains(again.stdout, "Apply complete") {
		t.Errorf("second apply:\n%s", again)
	}
	if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
		t.Errorf("the second apply touched files: %q", d)
	}

	w.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
	code, r = w.planCode()
	if code != 2 {
		t.Fatalf("plan of a changed rule: exit %d, want 2\n%s", code, r)
	}
	var marks []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "  + ") || strings.HasPrefix(l, "  ~ ") || strings.HasPrefix(l, "  - ") {
			marks = append(marks, l)
		}
	}
	want := []string{
		"  ~ " + w.filterPath() + "  (filter)",
		"  ~ " + w.dropInPath() + "  (drop-in)",
	}
	if strings.Join(marks, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan lists\n%s\nwant\n%s\n%s", strings.Join(marks, "\n"), strings.Join(want, "\n"), r)
	}
	if !strings.Contains(r.stdout, "Plan: 0 to add, 2 to change, 0 to destroy.") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	// The drop-in's diff is the hash: in its header and on ExecStart=.
	diff := regexp.MustCompile(`(?m)^      [-+].*$`).FindAllString(r.stdout, -1)
	if len(diff) != 4 || !strings.Contains(diff[1], "content sha256:") || !strings.Contains(diff[3], "ExecStart="+w.fencer+" exec ") {
		t.Errorf("drop-in diff %q", diff)
	}

	j := w.fencerCmd("plan", "-json", "-detailed-exitcode")
	if j.code != 2 {
		t.Fatalf("plan -json: %s", j)
	}
	got := parsePlan(t, j.stdout).changed()
	if len(got) != 2 || got[w.filterPath()] != "update" || got[w.dropInPath()] != "update" {
		t.Errorf("plan -json changes %v, want updates of exactly %s and %s", got, w.filterPath(), w.dropInPath())
	}

	w.mustApply()
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan after applying the change: exit %d\n%s", code, r)
	}
}

// TestSavedPlan: a saved plan applies as it was made — in the scope it
// was made for, without -var — and is refused, writing nothing, when a
// host file changed since.
func TestSavedPlan(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	w.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
	planFile := filepath.Join(t.TempDir(), "change.plan")
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	if r := w.run("show", planFile); r.code != 0 || !strings.Contains(r.stdout, "Plan: 0 to add, 2 to change, 0 to destroy.") {
		t.Errorf("show PLANFILE:\n%s", r)
	}

	// Someone edits the drop-in by hand after the plan was made.
	edited := readFile(t, w.dropInPath()) + "# a hand edit\n"
	writeFile(t, w.dropInPath(), edited)
	before := snapshot(t, w.um.Home)
	r := w.run("apply", planFile)
	if r.code != 1 || !strings.Contains(r.stderr, w.dropInPath()+" changed since the plan was made: make a new plan") {
		t.Errorf("stale plan: want exit 1 and a message naming the drop-in:\n%s", r)
	}
	if strings.Contains(r.stdout, "Apply complete") {
		t.Errorf("stale plan applied:\n%s", r)
	}
	if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
		t.Errorf("a refused plan wrote: %q", d)
	}

	// A saved plan is applied as it was made: variables cannot change it.
	if r := w.run(append(append([]string{"apply"}, w.vars()...), planFile)...); r.code != 1 || !strings.Contains(r.stderr, "-var and -var-file cannot change it") {
		t.Errorf("apply -var PLANFILE:\n%s", r)
	}

	// A fresh saved plan, applied with nothing but its file.
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	r = w.run("apply", planFile)
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 2 changed, 0 destroyed.") {
		t.Fatalf("apply PLANFILE:\n%s", r)
	}
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan after apply PLANFILE: exit %d\n%s", code, r)
	}
	// Applied once, the plan is stale.
	if r := w.run("apply", planFile); r.code != 1 || !strings.Contains(r.stderr, "changed since the plan was made") {
		t.Errorf("a plan applied twice:\n%s", r)
	}
}

// TestSavedPlanInputs: a saved plan is also refused, writing nothing, when
// a file it was made from changed since — not one it writes, but the
// vendor's unit whose ExecStart= it wraps, or a drop-in that appeared and
// would override fencer's — and applies once they are as they were.
func TestSavedPlanInputs(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	vendorDir := filepath.Join(w.um.RuntimeDir, "systemd", "user")
	vendorUnit := filepath.Join(vendorDir, "metrics.service")
	writeFile(t, vendorUnit, w.vendorUnit(""))
	planFile := filepath.Join(t.TempDir(), "p.plan")
	const ruleA = "when     = arg0 == 2 || arg0 == fd.logfile\n"
	const ruleB = "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n"

	// A fresh saved plan applies right away.
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	if r := w.run("apply", planFile); r.code != 0 || !strings.Contains(r.stdout, "Apply complete! Files: 3 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply PLANFILE:\n%s\n%s", r, w.um.Log())
	}

	refused := func(path, what string) {
		t.Helper()
		before := snapshot(t, w.um.Home)
		r := w.run("apply", planFile)
		want := path + " " + what + " since the plan was made, which was computed from the unit file and drop-ins of metrics.service: make a new plan"
		if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "Apply complete") {
			t.Errorf("want exit 1 and %q:\n%s", want, r)
		} else {
			t.Logf("refused: %s", lineWith(r.stderr, want))
		}
		if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
			t.Errorf("a refused plan wrote: %q", d)
		}
	}

	// The vendor upgrades the unit after the plan was made: applying it
	// would wrap the old command.
	w.edit("metrics.fencer.hcl", ruleA, ruleB)
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	upgraded := strings.Replace(w.vendorUnit(""), "ExecStart="+w.server+"\n", "ExecStart="+w.server+" --new-flag\n", 1)
	if upgraded == w.vendorUnit("") {
		t.Fatal("the vendor unit has no ExecStart= line to change")
	}
	writeFile(t, vendorUnit, upgraded)
	refused(vendorUnit, "changed")

	// Planned again, it wraps the new command.
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	if r := w.run("apply", planFile); r.code != 0 || !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 2 changed, 0 destroyed.") {
		t.Fatalf("apply PLANFILE:\n%s\n%s", r, w.um.Log())
	}
	if got := readFile(t, w.dropInPath()); !strings.Contains(got, "-- "+w.server+" --new-flag\n") {
		t.Errorf("the drop-in does not wrap the new command:\n%s", got)
	}

	// A drop-in that would override fencer's appears after the plan was
	// made (a fresh plan refuses it).
	w.edit("metrics.fencer.hcl", ruleB, ruleA)
	if r := w.fencerCmd("plan", "-out="+planFile); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	late := filepath.Join(vendorDir, "metrics.service.d", "zzz-override.conf")
	writeFile(t, late, "[Service]\nSystemCallFilter=\n")
	refused(late, "appeared")
	if r := w.fencerCmd("plan"); r.code != 1 || !strings.Contains(r.stdout+r.stderr, late) {
		t.Errorf("a fresh plan with %s:\n%s", late, r)
	}

	// Gone again, the host is as planned and the plan applies.
	if err := os.Remove(late); err != nil {
		t.Fatal(err)
	}
	if r := w.run("apply", planFile); r.code != 0 || !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 2 changed, 0 destroyed.") {
		t.Fatalf("apply PLANFILE:\n%s\n%s", r, w.um.Log())
	}
	if got := w.show("metrics.service", "SystemCallFilter"); got == "" || strings.HasPrefix(got, "~") {
		t.Errorf("SystemCallFilter=%q after apply", got)
	}
	if code, r := w.planCode(); code != 0 {
		t.Errorf("plan after apply PLANFILE: exit %d\n%s", code, r)
	}
}

// TestDestroy: destroy removes what apply installed and leaves alone the
// files that do not carry fencer's header.
func TestDestroy(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	for _, p := range w.managed() {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("after apply: %v", err)
		}
	}
	if code, r := w.planCode(); code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", code, r)
	}
	// An unrelated unit, and a unit of fencer's replaced by hand.
	other := filepath.Join(w.unitDir, "other.service")
	writeFile(t, other, "[Service]\nExecStart=/bin/true\n")
	handSocket := "[Socket]\nListenStream=127.0.0.1:" + strconv.Itoa(w.port) + "\nService=metrics.service\n"
	writeFile(t, w.socketPath(), handSocket)

	r := w.fencerCmd("destroy", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Files: 3 destroyed.") {
		t.Fatalf("destroy:\n%s", r)
	}
	for _, p := range []string{w.filterPath(), w.unitFilePath(), w.dropInPath()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after destroy: %v", p, err)
		}
	}
	if got := readFile(t, w.socketPath()); got != handSocket {
		t.Errorf("destroy changed the hand-written socket unit:\n%s", got)
	}
	if got := readFile(t, other); got != "[Service]\nExecStart=/bin/true\n" {
		t.Errorf("destroy changed other.service")
	}
	if _, err := os.Stat(w.fencer); err != nil {
		t.Errorf("the loader: %v", err)
	}
	// systemd was reloaded: the unit is gone.
	if got := w.show("metrics.service", "LoadState"); got != "not-found" {
		t.Errorf("metrics.service LoadState %q after destroy", got)
	}
	// Destroying again finds nothing to do.
	before := snapshot(t, w.um.Home)
	if r := w.fencerCmd("destroy", "-auto-approve"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("second destroy:\n%s", r)
	}
	if d := before.diff(snapshot(t, w.um.Home)); len(d) > 0 {
		t.Errorf("the second destroy touched files: %q", d)
	}
}
