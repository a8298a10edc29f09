package e2e

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/fleettest"
)

// fleetWorld is a simulated fleet (internal/fleettest: five hosts, each a
// real sshd with its own mount namespace and user manager, h1 reached
// with become = "sudo") and a configuration directory on this machine,
// the controller, that gives every host the metrics example, each with a
// port of its own, and a service "nap" whose unit each host has in its
// own /etc/systemd/user.
type fleetWorld struct {
	t              *testing.T
	f              *fleettest.Fleet
	fencer, server string
	// cfg is the configuration directory, home the HOME fencer runs with.
	cfg, home string
	// knownHosts is the known_hosts_file the host blocks name.
	knownHosts string
	// ruleB selects the second version of the metrics policy: its
	// log_write rule also allows fd 5, which changes the filter and the
	// drop-in of metrics.service on every host.
	ruleB bool
	// hostRuleB, when not nil, says per host (by name) whether its
	// metrics service has policy B, instead of ruleB.
	hostRuleB map[string]bool
}

// The metrics example's rule that ruleB changes.
const (
	fleetRuleA = "when     = arg0 == 2 || arg0 == fd.logfile\n"
	fleetRuleB = "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n"
)

// napUnit is the unit every host has of its own for the service "nap".
const napUnit = "[Service]\nExecStart=/bin/sleep 1000\n"

// newFleetWorld starts the fleet, installs the example server and nap's
// unit on every host, and writes the configuration.
func newFleetWorld(t *testing.T) *fleetWorld {
	t.Helper()
	fencer, server := binaries(t)
	f := fleettest.Start(t, fleettest.Options{Hosts: 5, Become: []int{0}})
	t.Logf("fleet of %d hosts started in %s", len(f.Hosts), f.Startup.Round(time.Millisecond))
	w := &fleetWorld{t: t, f: f, fencer: fencer, server: server, cfg: t.TempDir(), home: t.TempDir(), knownHosts: f.KnownHosts}
	data, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hosts {
		if err := h.WriteFile(fleettest.AsRoot, "/usr/local/libexec/metrics-server", data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := h.WriteFile(fleettest.AsRoot, "/etc/systemd/user/nap.service", []byte(napUnit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unit, err := os.ReadFile(filepath.Join(repo(t), "examples", "metrics", "metrics.service"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.cfg, "metrics.service"), string(unit))
	w.writeConfig()
	return w
}

// as is the account whose user manager fencer manages on h.
func (w *fleetWorld) as(h *fleettest.Host) fleettest.Account {
	if h.Become {
		return fleettest.AsRoot
	}
	return fleettest.AsUser
}

// hostHome is the HOME, on h, of the account whose manager fencer manages.
func (w *fleetWorld) hostHome(h *fleettest.Host) string {
	if h.Become {
		return "/root"
	}
	return w.f.Home
}

// metricsUnit is the metrics server's unit on h. Each host has a unit of
// its own name, for its service block with its own port: fencer refuses
// two services naming one unit even on different hosts.
func metricsUnit(h *fleettest.Host) string { return "metrics-" + h.Name + ".service" }

// config returns the configuration: the fleet's host blocks, a metrics
// service per host (examples/metrics' service block with the host's own
// port, log file and unit name), nap on every host, and the example's
// syscall_set.
func (w *fleetWorld) config() string {
	w.t.Helper()
	blocks, err := w.f.HostBlocks(fleettest.HCLOptions{KnownHosts: w.knownHosts})
	if err != nil {
		w.t.Fatal(err)
	}
	example := readFile(w.t, filepath.Join(repo(w.t), "examples", "metrics", "metrics.fencer.hcl"))
	svc := strings.Index(example, `service "metrics" {`)
	set := strings.Index(example, `syscall_set "startup" {`)
	if svc < 0 || set < svc {
		w.t.Fatalf("examples/metrics/metrics.fencer.hcl: no service \"metrics\" followed by syscall_set \"startup\"")
	}
	var b strings.Builder
	// The id makes the copy on h1 (pull mode) the same configuration.
	b.WriteString("fencer {\n  id = \"fleet-e2e\"\n}\n\n")
	b.WriteString(blocks)
	for _, h := range w.f.Hosts {
		s := example[svc:set]
		for _, r := range [][2]string{
			{`service "metrics" {`, fmt.Sprintf("service \"metrics_%s\" {\n  hosts          = [%q]", h.Name, h.Name)},
			{`unit           = "metrics.service"`, fmt.Sprintf("unit           = %q", metricsUnit(h))},
			{`replace(file("metrics.service"),`, fmt.Sprintf(`replace(replace(file("metrics.service"), "metrics.socket", "metrics-%s.socket"),`, h.Name)},
			{"var.server_path", `"/usr/local/libexec/metrics-server"`},
			{"${var.log_path}", w.logPath(h)},
			{"${var.port}", strconv.Itoa(h.ServicePort(0))},
			{fleetRuleA, map[bool]string{false: fleetRuleA, true: fleetRuleB}[w.policyB(h)]},
		} {
			if strings.Count(s, r[0]) != 1 {
				w.t.Fatalf("the example's service block has %q %d times, want once", r[0], strings.Count(s, r[0]))
			}
			s = strings.Replace(s, r[0], r[1], 1)
		}
		b.WriteString(s)
	}
	b.WriteString(`service "nap" {
  unit           = "nap.service"
  default_action = log
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}

`)
	b.WriteString(example[set:])
	return b.String()
}

// writeConfig writes the configuration for the world's settings.
func (w *fleetWorld) writeConfig() {
	w.t.Helper()
	writeFile(w.t, filepath.Join(w.cfg, "main.fencer.hcl"), w.config())
}

// usePolicy writes the configuration with policy B (or A) on every host.
func (w *fleetWorld) usePolicy(b bool) {
	w.t.Helper()
	w.ruleB, w.hostRuleB = b, nil
	w.writeConfig()
}

// policyB says whether h's metrics service has policy B.
func (w *fleetWorld) policyB(h *fleettest.Host) bool {
	if b, ok := w.hostRuleB[h.Name]; ok {
		return b
	}
	return w.ruleB
}

// logPath is where the metrics server logs on h.
func (w *fleetWorld) logPath(h *fleettest.Host) string {
	return w.hostHome(h) + "/metrics.log"
}

// command returns fencer ARGS run on the controller in the configuration
// directory.
func (w *fleetWorld) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.fencer, args...)
	cmd.Dir = w.cfg
	cmd.Env = []string{"HOME=" + w.home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	return cmd
}

// run runs fencer ARGS on the controller.
func (w *fleetWorld) run(args ...string) result {
	w.t.Helper()
	r := run(w.t, w.command(args...))
	w.t.Logf("fencer %s: exit %d (%s)", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// mustApply applies the configuration to every host and fails the test
// unless that worked.
func (w *fleetWorld) mustApply(extra ...string) result {
	w.t.Helper()
	r := w.run(append([]string{"apply", "-auto-approve"}, extra...)...)
	if r.code != 0 {
		w.t.Fatalf("apply failed:\n%s", r)
	}
	return r
}

// converged fails the test unless plan -detailed-exitcode finds no
// change on any host.
func (w *fleetWorld) converged() {
	w.t.Helper()
	if r := w.run("plan", "-detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		w.t.Errorf("plan after converging: want exit 0 and no changes:\n%s", r)
	}
}

// unitDir and fencerDir are where fencer writes on h in user scope.
func (w *fleetWorld) unitDir(h *fleettest.Host) string {
	return w.hostHome(h) + "/.config/systemd/user"
}
func (w *fleetWorld) fencerDir(h *fleettest.Host) string { return w.hostHome(h) + "/.config/fencer" }

// managed lists the files fencer installs on h for the configuration.
func (w *fleetWorld) managed(h *fleettest.Host) []string {
	u, m := w.unitDir(h), metricsUnit(h)
	return []string{
		u + "/" + m, u + "/" + strings.TrimSuffix(m, ".service") + ".socket", u + "/" + m + ".d/zz-fencer.conf",
		u + "/nap.service.d/zz-fencer.conf",
		w.fencerDir(h) + "/filters/" + m + ".bpf", w.fencerDir(h) + "/filters/nap.service.bpf",
		h.FencerPath(true),
	}
}

// hostPath is where h's path p is on this machine.
func (w *fleetWorld) hostPath(h *fleettest.Host, p string) string {
	w.t.Helper()
	real, err := h.Path(p)
	if err != nil {
		w.t.Fatal(err)
	}
	return real
}

// snapshotHost records fencer's directories on h and the loader (see
// snapshot): content, mode and modification time of every file.
func (w *fleetWorld) snapshotHost(h *fleettest.Host) tree {
	w.t.Helper()
	return snapshot(w.t, w.hostPath(h, w.unitDir(h)), w.hostPath(h, w.fencerDir(h)), w.hostPath(h, filepath.Dir(h.FencerPath(true))))
}

// snapshotAll records every host's (snapshotHost), by host name.
func (w *fleetWorld) snapshotAll() map[string]tree {
	out := map[string]tree{}
	for _, h := range w.f.Hosts {
		out[h.Name] = w.snapshotHost(h)
	}
	return out
}

// exec runs a command on h as the account whose manager fencer manages.
func (w *fleetWorld) exec(h *fleettest.Host, name string, args ...string) string {
	w.t.Helper()
	out, err := h.Exec(w.as(h), name, args...)
	if err != nil {
		w.t.Fatalf("%v\n%s", err, out)
	}
	return string(out)
}

// show returns metrics.service's properties on h, as systemctl prints them.
func (w *fleetWorld) show(h *fleettest.Host, unit, props string) string {
	w.t.Helper()
	return w.exec(h, "systemctl", "--user", "show", "-p", props, unit)
}

// napProcess returns nap's main pid on h and its Seccomp mode.
func (w *fleetWorld) napProcess(h *fleettest.Host) (pid, seccomp string) {
	w.t.Helper()
	pid = strings.TrimSpace(w.exec(h, "systemctl", "--user", "show", "-p", "MainPID", "--value", "nap.service"))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil || pid == "0" {
		w.t.Fatalf("host %s: nap.service's main pid %q: %v", h.Name, pid, err)
	}
	m := regexp.MustCompile(`(?m)^Seccomp:\s*(\d)$`).FindSubmatch(status)
	if m == nil {
		w.t.Fatalf("host %s: /proc/%s/status has no Seccomp:\n%s", h.Name, pid, status)
	}
	return pid, string(m[1])
}

// TestFleet runs the fleet scenarios of issue 9 on one fleet of five hosts,
// one after the other, each leaving the fleet converged for the next: the
// real fencer binary, run as a user runs it, plans and applies over SSH.
func TestFleet(t *testing.T) {
	w := newFleetWorld(t)
	steps := []struct {
		name string
		fn   func(*fleetWorld)
	}{
		{"MetricsOnFive", (*fleetWorld).metricsOnFive},
		{"VerifyDrift", (*fleetWorld).verifyDrift},
		{"Target", (*fleetWorld).target},
		{"WrongHostKey", (*fleetWorld).wrongHostKey},
		{"HostDown", (*fleetWorld).hostDown},
		{"KilledApplies", (*fleetWorld).killedApplies},
		{"ConnectionCut", (*fleetWorld).connectionCut},
		{"PullMode", (*fleetWorld).pullMode},
		{"Destroy", (*fleetWorld).destroy},
	}
	for _, s := range steps {
		began := time.Now()
		ok := t.Run(s.name, func(t *testing.T) {
			sub := *w
			sub.t = t
			s.fn(&sub)
			w.ruleB, w.knownHosts = sub.ruleB, sub.knownHosts
		})
		t.Logf("%s: %s", s.name, time.Since(began).Round(time.Millisecond))
		if !ok {
			t.Fatalf("%s failed: the later scenarios need the fleet as it leaves it", s.name)
		}
	}
}

// metricsOnFive applies the example to all five hosts; on each, the
// server, started by its user manager, serves 100 scrapes under its
// filter and dies by SIGSYS on /violate. A second plan finds nothing.
func (w *fleetWorld) metricsOnFive() {
	t := w.t
	r := w.mustApply()
	if !strings.Contains(r.stdout, "0 of 5 hosts failed") && strings.Contains(r.stdout, "failed") {
		t.Errorf("apply:\n%s", r)
	}
	for _, h := range w.f.Hosts {
		if !regexp.MustCompile(`(?m)^\s*` + h.Name + `\s+x86_64\s+`).MatchString(r.stdout) {
			t.Errorf("the summary has no line for %s with its architecture:\n%s", h.Name, r)
		}
	}
	t.Logf("apply:\n%s", r.stdout)
	done := make(chan error, len(w.f.Hosts))
	for _, h := range w.f.Hosts {
		w.exec(h, "systemctl", "--user", "start", strings.TrimSuffix(metricsUnit(h), ".service")+".socket")
		go func() { done <- w.serveAndViolate(h) }()
	}
	for range w.f.Hosts {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	w.converged()
}

// serveAndViolate scrapes the metrics server on h 100 times, checks that
// it runs under its filter, then has /violate kill it with SIGSYS.
func (w *fleetWorld) serveAndViolate(h *fleettest.Host) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := fmt.Sprintf("http://127.0.0.1:%d", h.ServicePort(0))
	counter := regexp.MustCompile(`(?m)^metrics_requests_total\{path="/metrics"\} (\d+)$`)
	for i := 1; i <= 100; i++ {
		resp, err := client.Get(url + "/metrics")
		if err != nil {
			return fmt.Errorf("host %s: scrape %d: %v", h.Name, i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("host %s: scrape %d: status %d, %v", h.Name, i, resp.StatusCode, err)
		}
		if m := counter.FindSubmatch(body); m == nil || string(m[1]) != strconv.Itoa(i) {
			return fmt.Errorf("host %s: scrape %d: counter %q, want %d:\n%s", h.Name, i, m, i, body)
		}
	}
	out, err := h.Exec(w.as(h), "systemctl", "--user", "show", "-p", "MainPID", "--value", metricsUnit(h))
	pid := strings.TrimSpace(string(out))
	if err != nil || pid == "" || pid == "0" {
		return fmt.Errorf("host %s: MainPID %q, %v", h.Name, pid, err)
	}
	// The hosts share this machine's pid namespace.
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil || !regexp.MustCompile(`(?m)^Seccomp:\s*2$`).Match(status) {
		return fmt.Errorf("host %s: pid %s is not under a seccomp filter (%v):\n%s", h.Name, pid, err, status)
	}
	if exe, err := os.Readlink("/proc/" + pid + "/exe"); err != nil || !strings.HasSuffix(exe, "/usr/local/libexec/metrics-server") {
		return fmt.Errorf("host %s: pid %s is %q (%v), not the server", h.Name, pid, exe, err)
	}
	if resp, err := client.Get(url + "/violate"); err == nil {
		resp.Body.Close()
		return fmt.Errorf("host %s: /violate was answered: %s", h.Name, resp.Status)
	}
	var props string
	if !waitFor(10*time.Second, func() bool {
		out, _ := h.Exec(w.as(h), "systemctl", "--user", "show", "-p", "ActiveState,Result,ExecMainStatus,ExecMainPID", metricsUnit(h))
		props = string(out)
		return strings.Contains(props, "ActiveState=failed") || strings.Contains(props, "ActiveState=inactive")
	}) {
		return fmt.Errorf("host %s: metrics.service did not stop after /violate:\n%s", h.Name, props)
	}
	if !strings.Contains(props, "ExecMainStatus=31\n") || !strings.Contains(props, "ExecMainPID="+pid+"\n") ||
		!regexp.MustCompile(`(?m)^Result=(signal|core-dump)$`).MatchString(props) {
		return fmt.Errorf("host %s: after /violate, want pid %s ended by SIGSYS (31):\n%s", h.Name, pid, props)
	}
	w.t.Logf("host %s: 100 scrapes by pid %s under its filter (Seccomp: 2), then SIGSYS on /violate", h.Name, pid)
	return nil
}

// verifyDrift: verify finds every host in sync, then, with a drop-in
// edited by hand on h3, exits 2 naming h3 and still finds the others in
// sync; apply puts it back.
func (w *fleetWorld) verifyDrift() {
	t := w.t
	w.mustApply() // nothing to do after MetricsOnFive; run alone, the fleet is empty
	r := w.run("verify")
	if r.code != 0 {
		t.Fatalf("verify of the converged fleet: want exit 0:\n%s", r)
	}
	h3 := w.f.Hosts[2]
	dropIn := w.hostPath(h3, w.unitDir(h3)+"/nap.service.d/zz-fencer.conf")
	old := readFile(t, dropIn)
	if err := h3.WriteFile(w.as(h3), w.unitDir(h3)+"/nap.service.d/zz-fencer.conf", []byte(old+"# edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = w.run("verify")
	out := r.stdout + r.stderr
	if r.code != 2 || !strings.Contains(out, `host "h3"`) {
		t.Errorf("verify with a drop-in edited on h3: want exit 2 naming h3:\n%s", r)
	}
	for _, h := range w.f.Hosts {
		if h != h3 && !strings.Contains(out, fmt.Sprintf("host %q: in sync", h.Name)) {
			t.Errorf("verify does not find %s in sync:\n%s", h.Name, r)
		}
	}
	if strings.Contains(out, `host "h3": in sync`) {
		t.Errorf("verify finds h3 in sync:\n%s", r)
	}
	t.Logf("verify with drift on h3:\n%s", out)
	w.mustApply()
	if got := readFile(t, dropIn); got != old {
		t.Errorf("apply did not restore h3's drop-in:\n%s", got)
	}
	if r := w.run("verify"); r.code != 0 {
		t.Errorf("verify after apply:\n%s", r)
	}
}

// target: -target=host.h2 changes h2 only, -target=service.nap nap's
// files only; the other files stay byte for byte, with their mtimes.
func (w *fleetWorld) target() {
	t := w.t
	w.usePolicy(true)
	before := w.snapshotAll()
	w.mustApply("-target=host.h2")
	after := w.snapshotAll()
	for _, h := range w.f.Hosts {
		d := before[h.Name].diff(after[h.Name])
		switch {
		case h.Name == "h2" && len(d) == 0:
			t.Errorf("-target=host.h2 did not change h2")
		case h.Name != "h2" && len(d) > 0:
			t.Errorf("-target=host.h2 changed %s: %q", h.Name, d)
		}
	}
	if r := w.run("plan", "-detailed-exitcode", "-target=host.h2"); r.code != 0 {
		t.Errorf("plan -target=host.h2 after applying it:\n%s", r)
	}
	// nap's filter on every host, and nothing else.
	writeFile(t, filepath.Join(w.cfg, "main.fencer.hcl"), strings.Replace(w.config(), `syscalls = ["execve", "exit_group"]`, `syscalls = ["execve", "exit_group", "nanosleep"]`, 1))
	before = after
	w.mustApply("-target=service.nap")
	after = w.snapshotAll()
	for _, h := range w.f.Hosts {
		for _, c := range before[h.Name].diff(after[h.Name]) {
			// A directory's mtime changes with a file written in it.
			if dir := strings.TrimPrefix(c, "changed "); strings.HasPrefix(after[h.Name][dir], "d") {
				continue
			}
			if !strings.Contains(c, "/nap.service") {
				t.Errorf("-target=service.nap changed %s on %s", c, h.Name)
			}
		}
		if nap := w.hostPath(h, w.fencerDir(h)+"/filters/nap.service.bpf"); before[h.Name][nap] == after[h.Name][nap] {
			t.Errorf("-target=service.nap did not change nap's filter on %s", h.Name)
		}
	}
	w.writeConfig()
	w.mustApply()
	w.converged()
}

// wrongHostKey: with a known_hosts where h2's key is another's, h2 is
// refused loudly and untouched, the four others applied.
func (w *fleetWorld) wrongHostKey() {
	t := w.t
	h2 := w.f.Hosts[1]
	wrong, err := w.f.WrongKnownHosts("known_hosts_wrong_h2", h2)
	if err != nil {
		t.Fatal(err)
	}
	w.knownHosts = wrong
	w.usePolicy(!w.ruleB)
	before := w.snapshotHost(h2)
	r := w.run("apply", "-auto-approve")
	out := r.stdout + r.stderr
	if r.code == 0 || !strings.Contains(out, "1 of 5 hosts failed") || !regexp.MustCompile(`(?m)^\s*h2\s.*failed`).MatchString(out) {
		t.Errorf("apply with h2's key wrong: want a failure, the summary naming h2:\n%s", r)
	}
	if !strings.Contains(out, "THE SSH HOST KEY OF [127.0.0.1]:"+strconv.Itoa(h2.Port)+" HAS CHANGED.") {
		t.Errorf("apply with h2's key wrong: no changed-key message:\n%s", r)
	}
	t.Logf("apply with h2's key wrong:\n%s", out)
	if d := before.diff(w.snapshotHost(h2)); len(d) > 0 {
		t.Errorf("h2, refused, was written: %q", d)
	}
	w.knownHosts = w.f.KnownHosts
	w.writeConfig()
	r = w.run("plan", "-json", "-detailed-exitcode")
	changed := map[string]bool{}
	for _, h := range parsePlan(t, r.stdout).Hosts {
		for _, c := range h.Changes {
			if c.Action != "no-op" {
				changed[h.Name] = true
			}
		}
	}
	if len(changed) != 1 || !changed["h2"] {
		t.Errorf("after the refusal, hosts with changes %v, want only h2:\n%s", changed, r)
	}
	w.mustApply()
	w.converged()
}

// hostDown: h4 down is reported, the others applied; once up, the next
// apply converges it.
func (w *fleetWorld) hostDown() {
	t := w.t
	h4 := w.f.Hosts[3]
	if err := h4.Down(); err != nil {
		t.Fatal(err)
	}
	w.usePolicy(!w.ruleB)
	r := w.run("apply", "-auto-approve")
	out := r.stdout + r.stderr
	if r.code == 0 || !strings.Contains(out, "1 of 5 hosts failed") || !strings.Contains(out, "host h4: host unreachable") {
		t.Errorf("apply with h4 down: want a failure naming h4 unreachable:\n%s", r)
	}
	t.Logf("apply with h4 down:\n%s", out)
	if err := h4.Up(); err != nil {
		t.Fatal(err)
	}
	r = w.run("plan", "-json", "-detailed-exitcode")
	for _, h := range parsePlan(t, r.stdout).Hosts {
		for _, c := range h.Changes {
			if c.Action != "no-op" && h.Name != "h4" {
				t.Errorf("with h4 down, %s was not applied: %s %s", h.Name, c.Action, c.Path)
			}
		}
	}
	r = w.mustApply()
	if !regexp.MustCompile(`(?m)^\s*h4\s.*`).MatchString(r.stdout) {
		t.Errorf("the apply after h4 came back:\n%s", r)
	}
	w.converged()
}

// versions reads every managed file on every host: host name, path to
// content.
func (w *fleetWorld) versions() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, h := range w.f.Hosts {
		out[h.Name] = map[string]string{}
		for _, p := range w.managed(h) {
			out[h.Name][p] = readFile(w.t, w.hostPath(h, p))
		}
	}
	return out
}

// checkIntact fails the test unless every managed file on every host is
// entirely version a or b, no temporary file of fencer's is left, no
// fencer agent runs, and no host's lock is held.
func (w *fleetWorld) checkIntact(what string, a, b map[string]map[string]string) {
	t := w.t
	t.Helper()
	for _, h := range w.f.Hosts {
		for _, p := range w.managed(h) {
			got, err := os.ReadFile(w.hostPath(h, p))
			if err != nil {
				t.Errorf("%s: host %s: %v", what, h.Name, err)
			} else if s := string(got); s != a[h.Name][p] && s != b[h.Name][p] {
				t.Errorf("%s: host %s: %s is neither version (%d bytes)", what, h.Name, p, len(got))
			}
		}
		for _, dir := range []string{w.unitDir(h), w.fencerDir(h), filepath.Dir(h.FencerPath(true))} {
			real := w.hostPath(h, dir)
			_ = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".fencer-tmp-") {
					t.Errorf("%s: host %s: a temporary file is left: %s", what, h.Name, strings.TrimPrefix(p, real))
				}
				return nil
			})
		}
	}
	var agents []string
	if !waitFor(10*time.Second, func() bool { agents = w.fencerAgents(); return len(agents) == 0 }) {
		t.Errorf("%s: fencer agents still run 10 s later: %q", what, agents)
	}
	for _, h := range w.f.Hosts {
		lock := fmt.Sprintf("/run/user/%d/fencer.lock", w.f.UID)
		if h.Become {
			lock = "/run/user/0/fencer.lock"
		}
		if out, err := h.Exec(w.as(h), "flock", "-n", lock, "true"); err != nil {
			t.Errorf("%s: host %s: the lock is held: %v %s", what, h.Name, err, out)
		}
	}
}

// fencerAgents lists the command lines of the fencer agents running on
// the fleet's hosts: processes in a host's mount namespace (the hosts
// share this machine's pid namespace, and other fleets may run here).
func (w *fleetWorld) fencerAgents() []string {
	ns := map[string]string{}
	for _, h := range w.f.Hosts {
		if pid := h.PID(); pid != 0 {
			if n, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil {
				ns[n] = h.Name
			}
		}
	}
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := os.Readlink(filepath.Join(filepath.Dir(p), "ns", "mnt"))
		if err != nil || ns[n] == "" {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		for i, a := range args {
			if a == "agent" && i > 0 && strings.Contains(args[i-1], "/.cache/fencer/fencer-") {
				out = append(out, ns[n]+": "+strings.Join(args, " "))
				break
			}
		}
	}
	return out
}

// twoVersions applies policy A then B to every host and returns both
// versions of every managed file (versions), and how long the second
// apply, which changes every host, took.
func (w *fleetWorld) twoVersions() (a, b map[string]map[string]string, dur time.Duration) {
	w.usePolicy(false)
	w.mustApply()
	a = w.versions()
	w.usePolicy(true)
	dur = w.mustApply().took
	b = w.versions()
	for _, h := range w.f.Hosts {
		p := w.fencerDir(h) + "/filters/" + metricsUnit(h) + ".bpf"
		if a[h.Name][p] == b[h.Name][p] {
			w.t.Fatalf("host %s: the two policies have the same filter", h.Name)
		}
	}
	return a, b, dur
}

// convergeIntact applies policy B to every host, which must work and
// leave every file in one of the versions a and b and nothing behind
// (checkIntact), and plan then finds nothing to do.
func (w *fleetWorld) convergeIntact(a, b map[string]map[string]string) {
	w.t.Helper()
	w.usePolicy(true)
	w.mustApply()
	w.checkIntact("after converging", a, b)
	w.converged()
}

// rand returns a random source whose seed the test logs.
func (w *fleetWorld) rand() *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	w.t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, 9))
}

// flipEveryHost writes a configuration that changes every host: each
// host's metrics service gets the policy its filter does not have now.
func (w *fleetWorld) flipEveryHost(b map[string]map[string]string) {
	w.hostRuleB = map[string]bool{}
	for _, h := range w.f.Hosts {
		p := w.fencerDir(h) + "/filters/" + metricsUnit(h) + ".bpf"
		w.hostRuleB[h.Name] = readFile(w.t, w.hostPath(h, p)) != b[h.Name][p]
	}
	w.writeConfig()
}

// killedApplies: fencer SIGKILLed at 20 random moments of a five-host
// apply that changes files on every host: every file old or new, no
// temporary file, no agent, no lock left; the next apply converges.
func (w *fleetWorld) killedApplies() {
	t := w.t
	a, b, dur := w.twoVersions()
	t.Logf("an apply changing every host takes %s", dur.Round(time.Millisecond))
	rng := w.rand()
	const rounds = 20
	for i := 0; i < rounds; i++ {
		w.flipEveryHost(b)
		// The moments cover the apply evenly: one at random in each
		// twentieth of 1.2 times its duration.
		delay := time.Duration((float64(i) + rng.Float64()) / rounds * 1.2 * float64(dur))
		cmd := w.command("apply", "-auto-approve")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		err := cmd.Wait()
		t.Logf("round %d: SIGKILL after %s: %v", i+1, delay.Round(time.Millisecond), err)
		w.checkIntact(fmt.Sprintf("round %d (killed after %s)", i+1, delay.Round(time.Millisecond)), a, b)
		if t.Failed() {
			t.Fatalf("output of the killed apply:\n%s", out.String())
		}
	}
	w.convergeIntact(a, b)
}

// connectionCut: the SSH connection of a host (h1, through sudo, then
// h3, h5 and h2) cut at a random moment of an apply — a few milliseconds
// after the host reports a step chosen at random (planning, planned,
// applying, reloading): every file old or new, nothing left over, the
// host reported and the others applied; the next apply converges.
func (w *fleetWorld) connectionCut() {
	t := w.t
	a, b, _ := w.twoVersions()
	rng := w.rand()
	steps := []string{"planning", "planned", "applying 1/", "applying 2/", "reloading"}
	for _, i := range []int{0, 2, 4, 1} {
		h := w.f.Hosts[i]
		w.flipEveryHost(b)
		step := steps[rng.IntN(len(steps))]
		cmd := w.command("apply", "-auto-approve")
		out := &watchWriter{want: "host " + h.Name + ": " + step, seen: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-out.seen:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not report %q in 30 s:\n%s", h.Name, step, out.String())
		}
		delay := time.Duration(rng.IntN(20)) * time.Millisecond
		time.Sleep(delay)
		done := strings.Contains(out.String(), "host "+h.Name+": done")
		n := h.CutConnections()
		err := cmd.Wait()
		r := out.String()
		t.Logf("%s: %d connection(s) cut %s after %q (done before: %v): apply %v", h.Name, n, delay, step, done, err)
		if n == 0 && !done {
			t.Errorf("%s had no connection to cut while it was applied:\n%s", h.Name, r)
		}
		if err != nil && (!strings.Contains(r, "1 of 5 hosts failed.") || !regexp.MustCompile(`(?m)^\s*`+h.Name+`\s.*failed: .*host unreachable`).MatchString(r)) {
			t.Errorf("the apply whose connection to %s was cut: want the summary to say %s is unreachable and no other host failed:\n%s", h.Name, h.Name, r)
		}
		w.checkIntact("after the cut of "+h.Name, a, b)
		if t.Failed() {
			t.Fatalf("output of the apply:\n%s", r)
		}
	}
	w.convergeIntact(a, b)
}

// pullMode: fencer run on h1 (installed there as its loader) with the
// configuration on h1 applies h1's part through the local transport;
// the other hosts are untouched.
func (w *fleetWorld) pullMode() {
	t := w.t
	h1 := w.f.Hosts[0]
	w.usePolicy(!w.ruleB)
	// The configuration as a host pulls it, with addresses that lead
	// nowhere: pull mode reaches h1 as the machine it runs on, whatever
	// its address says, and no other host.
	conf := readFile(t, filepath.Join(w.cfg, "main.fencer.hcl"))
	if n := strings.Count(conf, `"127.0.0.1"`); n != len(w.f.Hosts) {
		t.Fatalf("the configuration has %d addresses 127.0.0.1, want %d", n, len(w.f.Hosts))
	}
	conf = strings.ReplaceAll(conf, `"127.0.0.1"`, `"nowhere.invalid"`)
	// fencer installed on h1, where it is also h1's loader.
	files := map[string]string{"main.fencer.hcl": conf, "metrics.service": readFile(t, filepath.Join(w.cfg, "metrics.service"))}
	if err := h1.WriteFile(fleettest.AsRoot, h1.FencerPath(true), []byte(readFile(t, w.fencer)), 0o755); err != nil {
		t.Fatal(err)
	}
	for n, data := range files {
		if err := h1.WriteFile(fleettest.AsRoot, "/root/pull/"+n, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := w.snapshotAll()
	out, err := h1.Exec(fleettest.AsRoot, h1.FencerPath(true), "-chdir=/root/pull", "apply", "-host=h1", "-auto-approve")
	if err != nil || !strings.Contains(string(out), "Apply complete!") {
		t.Fatalf("fencer apply -host=h1 on h1: %v\n%s", err, out)
	}
	t.Logf("fencer apply -host=h1 on h1:\n%s", out)
	after := w.snapshotAll()
	for _, h := range w.f.Hosts {
		d := before[h.Name].diff(after[h.Name])
		switch {
		case h == h1 && len(d) == 0:
			t.Errorf("pull mode did not change h1")
		case h != h1 && len(d) > 0:
			t.Errorf("pull mode on h1 changed %s: %q", h.Name, d)
		}
	}
	if r := w.run("plan", "-detailed-exitcode", "-target=host.h1"); r.code != 0 {
		t.Errorf("the controller's plan for h1 after pull mode:\n%s", r)
	}
	w.mustApply()
	w.converged()
}

// destroy removes every file of fencer's from every host; nap is back
// to its own ExecStart, and the next destroy finds nothing.
func (w *fleetWorld) destroy() {
	t := w.t
	w.mustApply() // nothing to do after PullMode; run alone, the fleet is empty
	// nap runs, under its filter, on every host; and metrics' socket.
	for _, h := range w.f.Hosts {
		w.exec(h, "systemctl", "--user", "start", "nap.service", strings.TrimSuffix(metricsUnit(h), ".service")+".socket")
		if pid, seccomp := w.napProcess(h); seccomp != "2" {
			t.Fatalf("host %s: nap (pid %s) runs without its filter before destroy: Seccomp %s", h.Name, pid, seccomp)
		}
	}
	r := w.run("destroy", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete!") {
		t.Fatalf("destroy:\n%s", r)
	}
	for _, h := range w.f.Hosts {
		for _, p := range w.managed(h)[:6] {
			if _, err := os.Lstat(w.hostPath(h, p)); !os.IsNotExist(err) {
				t.Errorf("host %s: %s after destroy: %v", h.Name, p, err)
			}
		}
		// systemd was reloaded, and nap restarted as its own unit says.
		if got := w.show(h, "nap.service", "ExecStart,NeedDaemonReload,ActiveState"); !strings.Contains(got, "path=/bin/sleep ") ||
			!strings.Contains(got, "NeedDaemonReload=no\n") || !strings.Contains(got, "ActiveState=active\n") {
			t.Errorf("host %s: nap.service after destroy:\n%s", h.Name, got)
		}
		if pid, seccomp := w.napProcess(h); seccomp != "0" {
			t.Errorf("host %s: nap (pid %s) runs under a filter after destroy: Seccomp %s", h.Name, pid, seccomp)
		}
		if got := w.show(h, metricsUnit(h), "LoadState"); got != "LoadState=not-found\n" {
			t.Errorf("host %s: %s after destroy: %s", h.Name, metricsUnit(h), got)
		}
	}
	before := w.snapshotAll()
	if r := w.run("destroy", "-auto-approve"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("a second destroy:\n%s", r)
	}
	after := w.snapshotAll()
	for _, h := range w.f.Hosts {
		if d := before[h.Name].diff(after[h.Name]); len(d) > 0 {
			t.Errorf("host %s: the second destroy touched %q", h.Name, d)
		}
	}
}
