package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 4's acceptance: after apply and start of examples/metrics, fencer
// verify exits 0 and says the process carries the planned filter, read
// back with ptrace; each kind of drift exits 2 and names the host, the
// unit, the file or setting and what differs, and restoring it exits 0
// again; a host that cannot be checked exits 1.

// verifyJSON is `fencer verify -json`.
type verifyJSON struct {
	Hosts []struct {
		Host     string          `json:"host"`
		Findings []verifyFinding `json:"findings"`
		Notes    []struct {
			Unit string `json:"unit"`
			Text string `json:"text"`
		} `json:"notes"`
		Error string `json:"error"`
	} `json:"hosts"`
}

type verifyFinding struct {
	Unit    string `json:"unit"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Problem string `json:"problem"`
	Want    string `json:"want"`
	Got     string `json:"got"`
}

// verified is one verification: the human output and the JSON one.
type verified struct {
	human result
	json  verifyJSON
	raw   string
}

// verify runs fencer verify with the world's variables, then extra, once
// for people and once with -json; both must end with the same exit code.
func (w *world) verify(extra ...string) verified {
	w.t.Helper()
	return w.verifyVia(nil, extra...)
}

// verifyVia is verify run through the command prefix (setpriv ...), or
// directly when prefix is empty.
func (w *world) verifyVia(prefix []string, extra ...string) verified {
	w.t.Helper()
	var h, j result
	if len(prefix) == 0 {
		h = w.fencerCmd("verify", extra...)
		j = w.fencerCmd("verify", append([]string{"-json"}, extra...)...)
	} else {
		via := func(args ...string) result {
			cmd := exec.Command(prefix[0], append(append(prefix[1:len(prefix):len(prefix)], w.fencer, "verify"), append(w.vars(), args...)...)...)
			cmd.Dir, cmd.Env = w.cfg, w.um.Env
			r := run(w.t, cmd)
			w.t.Logf("%s fencer verify: exit %d (%s)", strings.Join(prefix, " "), r.code, r.took.Round(time.Millisecond))
			return r
		}
		h, j = via(extra...), via(append([]string{"-json"}, extra...)...)
	}
	if h.code != j.code {
		w.t.Fatalf("verify exits %d, verify -json %d\n%s\n%s", h.code, j.code, h, j)
	}
	v := verified{human: h, raw: j.stdout}
	if err := json.Unmarshal([]byte(j.stdout), &v.json); err != nil {
		w.t.Fatalf("verify -json: %v\n%s", err, j)
	}
	if err := verifyJSONShape(j.stdout); err != nil {
		w.t.Errorf("verify -json: %v\n%s", err, j.stdout)
	}
	return v
}

// verifyJSONShape checks the keys of verify -json's output: {"hosts":
// [...]}, each host with "host", "findings" and "notes" (lists, empty
// when there are none) and "error" only when it could not be checked;
// each finding with "kind", "subject", "problem", and "unit", "want",
// "got" where they apply; each note with "text" and "unit". With more
// than one host, "summary" has a line per host: "host", "result",
// "added", "changed", "destroyed", "seconds", and "arch", "reason",
// "differences" where they apply.
func verifyJSONShape(out string) error {
	var top map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &top); err != nil {
		return err
	}
	if want := min(len(top["hosts"]), 2); len(top) != want || top["hosts"] == nil || (want == 2) != (top["summary"] != nil) {
		return fmt.Errorf("top-level keys: want \"hosts\", and \"summary\" with several hosts")
	}
	keys := func(what string, m map[string]json.RawMessage, must []string, may ...string) error {
		for _, k := range must {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("%s lacks %q", what, k)
			}
		}
		for k := range m {
			if !slices.Contains(must, k) && !slices.Contains(may, k) {
				return fmt.Errorf("%s has an unknown key %q", what, k)
			}
		}
		return nil
	}
	if len(top["summary"]) != len(top["hosts"]) && top["summary"] != nil {
		return fmt.Errorf("the summary has %d lines for %d hosts", len(top["summary"]), len(top["hosts"]))
	}
	for _, r := range top["summary"] {
		if err := keys("a summary line", r, []string{"host", "result", "added", "changed", "destroyed", "seconds"}, "arch", "reason", "differences"); err != nil {
			return err
		}
	}
	for _, h := range top["hosts"] {
		if err := keys("a host", h, []string{"host", "findings", "notes"}, "error"); err != nil {
			return err
		}
		var findings, notes []map[string]json.RawMessage
		if json.Unmarshal(h["findings"], &findings) != nil || findings == nil || json.Unmarshal(h["notes"], &notes) != nil || notes == nil {
			return fmt.Errorf("findings and notes must be lists: %s, %s", h["findings"], h["notes"])
		}
		for _, f := range findings {
			if err := keys("a finding", f, []string{"kind", "subject", "problem"}, "unit", "want", "got", "restart_needed"); err != nil {
				return err
			}
		}
		for _, n := range notes {
			if err := keys("a note", n, []string{"text"}, "unit"); err != nil {
				return err
			}
		}
	}
	return nil
}

// mainPID returns metrics.service's main process, failing unless there is
// one.
func (w *world) mainPID() string {
	w.t.Helper()
	pid := w.show("metrics.service", "MainPID")
	if pid == "" || pid == "0" {
		props, _ := w.um.Systemctl("show", "-p", "ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,ExecMainPID", "metrics.service", "metrics.socket")
		w.t.Fatalf("metrics.service has no main process:\n%s\n--- user manager\n%s", props, w.um.Log())
	}
	return pid
}

// serve has the server answer a scrape, so that its process runs (and is
// the server, past the loader).
func (w *world) serve() {
	w.t.Helper()
	if _, status, r := w.scrape("/metrics"); status != "200" {
		w.t.Fatalf("scrape: status %q\n%s\n%s", status, r, w.um.Log())
	}
}

// systemctl runs systemctl --user ARGS and fails the test on an error.
func (w *world) systemctl(args ...string) {
	w.t.Helper()
	if out, err := w.um.Systemctl(args...); err != nil {
		w.t.Fatalf("systemctl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, w.um.Log())
	}
}

// inSync asserts that verify exits 0, says the host is in sync and that
// the main process carries the planned filter, read back with ptrace.
func (w *world) inSync(what string) {
	w.t.Helper()
	v := w.verify()
	pid := w.mainPID()
	carries := regexp.MustCompile(`(?m)^  metrics\.service  note: MainPID ` + pid + ` carries the planned filter \(\d+ instructions, read back with ptrace\)$`)
	if v.human.code != 0 || !strings.Contains(v.human.stdout, "host \"local\": in sync\n") || !carries.MatchString(v.human.stdout) {
		w.t.Fatalf("%s: want exit 0, in sync, pid %s carrying the planned filter:\n%s", what, pid, v.human)
	}
	// JSON: the host, no findings (an empty list), the note.
	if len(v.json.Hosts) != 1 || v.json.Hosts[0].Host != "local" || v.json.Hosts[0].Error != "" ||
		v.json.Hosts[0].Findings == nil || len(v.json.Hosts[0].Findings) != 0 || !strings.Contains(v.raw, `"findings": []`) {
		w.t.Errorf("%s: verify -json:\n%s", what, v.raw)
	}
	if n := v.json.Hosts[0].Notes; len(n) != 1 || n[0].Unit != "metrics.service" || !strings.HasPrefix(n[0].Text, "MainPID "+pid+" carries the planned filter") {
		w.t.Errorf("%s: verify -json notes %+v", what, n)
	}
	w.t.Logf("%s: exit 0: %s", what, lineWith(v.human.stdout, "carries the planned filter"))
}

// drift is a finding verify must report: its kind and subject exactly, a
// part of its problem, and the planned and found values where given.
type drift struct {
	kind, subject, problem string
	want, got              string
}

// drifted asserts that verify exits 2 and reports exactly the findings
// wanted, for host "local" and unit metrics.service, in its output for
// people (the finding's line, then its planned and found lines) and in
// JSON.
func (w *world) drifted(what string, wanted ...drift) verified {
	w.t.Helper()
	return w.driftedIn(w.verify(), what, wanted...)
}

// driftedIn asserts of verification v what drifted asserts.
func (w *world) driftedIn(v verified, what string, wanted ...drift) verified {
	w.t.Helper()
	if v.human.code != 2 {
		w.t.Fatalf("%s: verify exits %d, want 2\n%s\n--- user manager\n%s", what, v.human.code, v.human, w.um.Log())
	}
	if head := fmt.Sprintf("host \"local\": %d difference(s)\n", len(wanted)); !strings.HasPrefix(v.human.stdout, head) {
		w.t.Errorf("%s: output does not start with %q:\n%s", what, head, v.human.stdout)
	}
	if !strings.HasSuffix(v.human.stdout, "\n1 of 1 hosts drifted from the configuration.\n") {
		w.t.Errorf("%s: no summary line:\n%s", what, v.human.stdout)
	}
	lines := strings.Split(v.human.stdout, "\n")
	if len(v.json.Hosts) != 1 || v.json.Hosts[0].Host != "local" || v.json.Hosts[0].Error != "" {
		w.t.Fatalf("%s: verify -json hosts:\n%s", what, v.raw)
	}
	found := v.json.Hosts[0].Findings
	if len(found) != len(wanted) {
		w.t.Errorf("%s: %d findings in JSON, want %d:\n%s", what, len(found), len(wanted), v.raw)
	}
	for _, d := range wanted {
		// For people: "  UNIT  KIND SUBJECT: PROBLEM", then "planned:"
		// and "found:" lines.
		prefix := fmt.Sprintf("  metrics.service  %s %s: ", d.kind, d.subject)
		i := 0
		for i < len(lines) && !(strings.HasPrefix(lines[i], prefix) && strings.Contains(lines[i], d.problem)) {
			i++
		}
		if i == len(lines) {
			w.t.Errorf("%s: no line %q…%q:\n%s", what, prefix, d.problem, v.human.stdout)
			continue
		}
		w.t.Logf("%s: exit 2: %s", what, lines[i])
		if d.want != "" || d.got != "" {
			if i+2 >= len(lines) || lines[i+1] != "      planned: "+d.want || lines[i+2] != "      found:   "+d.got {
				w.t.Errorf("%s: after %q, want\n      planned: %s\n      found:   %s\n%s", what, lines[i], d.want, d.got, v.human.stdout)
			} else {
				w.t.Logf("%s: %s", what, strings.TrimSpace(lines[i+1]))
				w.t.Logf("%s: %s", what, strings.TrimSpace(lines[i+2]))
			}
		}
		// In JSON: the same finding, field by field.
		ok := false
		for _, f := range found {
			if f.Unit == "metrics.service" && f.Kind == d.kind && f.Subject == d.subject && strings.Contains(f.Problem, d.problem) &&
				(d.want == "" || orNothing(f.Want) == d.want) && (d.got == "" || orNothing(f.Got) == d.got) {
				ok = true
			}
		}
		if !ok {
			w.t.Errorf("%s: no finding {unit metrics.service, kind %s, subject %s, problem …%s…} in JSON:\n%s", what, d.kind, d.subject, d.problem, v.raw)
		}
	}
	return v
}

// plannedNames returns the names of fencer's drop-in's SystemCallFilter=.
func (w *world) plannedNames() []string {
	w.t.Helper()
	for _, l := range strings.Split(readFile(w.t, w.dropInPath()), "\n") {
		if v, ok := strings.CutPrefix(l, "SystemCallFilter="); ok && v != "" {
			return strings.Fields(v)
		}
	}
	w.t.Fatalf("no SystemCallFilter= in the drop-in")
	return nil
}

// orNothing is how verify prints an empty planned or found value.
func orNothing(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}

// in returns the world for subtest t.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// TestVerify: examples/metrics applied in user scope and running; each
// drift of the issue (but the vendor unit's, see TestVerifyVendorExecStart)
// is reported and, once undone, no more.
func TestVerify(t *testing.T) {
	w := newWorld(t)
	w.mustApply()
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("after apply and start")
	pid := w.mainPID()

	t.Run("hand edit of the drop-in", func(t *testing.T) {
		w := w.in(t)
		orig := readFile(t, w.dropInPath())
		if strings.Count(orig, "\nNoNewPrivileges=yes\n") != 1 {
			t.Fatalf("the drop-in:\n%s", orig)
		}
		writeFile(t, w.dropInPath(), strings.Replace(orig, "\nNoNewPrivileges=yes\n", "\nNoNewPrivileges=no\n", 1))
		w.systemctl("daemon-reload")
		n := strings.Count(orig[:strings.Index(orig, "\nNoNewPrivileges=yes\n")+1], "\n") + 1
		w.drifted("hand edit",
			drift{"file", w.dropInPath(), "the drop-in was edited by hand",
				fmt.Sprintf(`line %d: "NoNewPrivileges=yes"`, n), fmt.Sprintf(`line %d: "NoNewPrivileges=no"`, n)},
			drift{"setting", "NoNewPrivileges", "no_new_privs is not set for the service", "yes", "no"})
		if r := w.mustApply(); !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 1 changed, 0 destroyed.") {
			t.Errorf("apply over the hand edit:\n%s", r)
		}
		w.inSync("hand edit undone by apply")
	})

	t.Run("filter file replaced", func(t *testing.T) {
		w := w.in(t)
		orig, err := os.ReadFile(w.filterPath())
		if err != nil {
			t.Fatal(err)
		}
		garbage := []byte("not a seccomp filter\n")
		writeFile(t, w.filterPath(), string(garbage))
		w.drifted("filter replaced by garbage",
			drift{"file", w.filterPath(), "the filter was replaced", "sha256 " + sha(orig), "sha256 " + sha(garbage)})
		writeFile(t, w.filterPath(), string(orig))
		w.inSync("the filter put back")

		// The filter of another policy: the example with one rule widened.
		other := t.TempDir()
		for _, n := range []string{"metrics.fencer.hcl", "metrics.service"} {
			writeFile(t, filepath.Join(other, n), readFile(t, filepath.Join(w.cfg, n)))
		}
		ow := w.in(t)
		ow.cfg = other
		ow.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
		r := ow.run("export", "bpf", "-arch="+hostArch(), "service.metrics")
		if r.code != 0 || len(r.stdout) == 0 || r.stdout == string(orig) {
			t.Fatalf("export bpf of the other policy:\n%s", r)
		}
		writeFile(t, w.filterPath(), r.stdout)
		w.drifted("filter of another policy",
			drift{"file", w.filterPath(), "the filter was replaced", "sha256 " + sha(orig), "sha256 " + sha([]byte(r.stdout))})
		if r := w.mustApply(); !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 1 changed, 0 destroyed.") {
			t.Errorf("apply over the other filter:\n%s", r)
		}
		w.inSync("the filter restored by apply")
	})

	t.Run("later drop-in widens SystemCallFilter", func(t *testing.T) {
		w := w.in(t)
		late := filepath.Join(w.unitDir, "metrics.service.d", "zzz-widen.conf")
		writeFile(t, late, "[Service]\nSystemCallFilter=ptrace\n")
		w.systemctl("daemon-reload")
		w.drifted("a later drop-in",
			drift{kind: "file", subject: late, problem: "this drop-in sets SystemCallFilter= and sorts after fencer's zz-fencer.conf, so systemd applies it over fencer's settings"},
			drift{"setting", "SystemCallFilter", "systemd's syscall filter is not the planned set",
				fmt.Sprintf("the %d planned names (and systemd's @default set)", len(w.plannedNames())), "also ptrace"})
		if err := os.Remove(late); err != nil {
			t.Fatal(err)
		}
		w.systemctl("daemon-reload")
		w.inSync("the later drop-in removed")
	})

	t.Run("policy change applied without restart", func(t *testing.T) {
		w := w.in(t)
		w.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
		if r := w.mustApply(); !strings.Contains(r.stdout, "Apply complete! Files: 0 added, 2 changed, 0 destroyed.") {
			t.Errorf("apply of the changed policy:\n%s", r)
		}
		if now := w.mainPID(); now != pid {
			t.Fatalf("apply without -restart restarted the service: pid %s, then %s", pid, now)
		}
		w.drifted("policy applied, not restarted",
			drift{kind: "process", subject: "MainPID " + pid, problem: "restart needed: the process started at "})
		// plan shows it, and apply -restart restarts exactly that unit.
		code, r := w.planCode()
		if code != 2 || !strings.Contains(r.stdout, "↻ metrics.service  restart needed: the process started at ") ||
			!strings.Contains(r.stdout, "Plan: 0 to add, 0 to change, 0 to destroy, 1 to restart (apply -restart).") {
			t.Fatalf("plan after apply without -restart: exit %d\n%s", code, r)
		}
		if r := w.mustApply(); !strings.Contains(r.stdout, "1 unit(s) need a restart to run as planned: run fencer apply -restart") || w.mainPID() != pid {
			t.Errorf("apply without -restart:\n%s", r)
		}
		r = w.mustApply("-restart")
		if !strings.Contains(r.stdout, "restarted metrics.service") || strings.Contains(r.stdout, "restarted metrics.socket") {
			t.Errorf("apply -restart did not restart exactly metrics.service:\n%s", r)
		}
		w.serve()
		if now := w.mainPID(); now == pid {
			t.Fatalf("restart kept pid %s", pid)
		}
		w.inSync("restarted")
		if code, r := w.planCode(); code != 0 {
			t.Errorf("plan after apply -restart: exit %d\n%s", code, r)
		}
	})

	t.Run("service started outside the loader", func(t *testing.T) {
		w := w.in(t)
		bare := filepath.Join(w.unitDir, "metrics.service.d", "zzz-bare.conf")
		writeFile(t, bare, "[Service]\nExecStart=\nExecStart="+w.server+"\n")
		w.systemctl("daemon-reload")
		w.systemctl("restart", "metrics.service")
		w.serve()
		pid := w.mainPID()
		// systemd's own filter is on it: Seccomp: 2 says nothing of ours.
		if s := readFile(t, "/proc/"+pid+"/status"); !strings.Contains(s, "\nSeccomp:\t2\n") {
			t.Errorf("/proc/%s/status:\n%s", pid, s)
		}
		if exe, err := os.Readlink("/proc/" + pid + "/exe"); err != nil || exe != w.server {
			t.Errorf("/proc/%s/exe is %q (%v), want %s", pid, exe, err, w.server)
		}
		// The command fencer's drop-in starts: the loader, then the server.
		var wrappedStart string
		for _, l := range strings.Split(readFile(t, w.dropInPath()), "\n") {
			if v, ok := strings.CutPrefix(l, "ExecStart="); ok && v != "" {
				wrappedStart = v
			}
		}
		if !strings.HasPrefix(wrappedStart, w.fencer+" exec ") || !strings.HasSuffix(wrappedStart, " -- "+w.server) {
			t.Fatalf("the drop-in's ExecStart= is %q", wrappedStart)
		}
		w.drifted("started outside the loader",
			drift{kind: "file", subject: bare, problem: "this drop-in sets ExecStart= and sorts after fencer's zz-fencer.conf"},
			drift{"setting", "ExecStart", "the service is not started through the loader with the planned filter", wrappedStart, w.server},
			drift{kind: "process", subject: "MainPID " + pid, problem: "the process does not carry the planned filter: it was not started through the loader with it"})
		if err := os.Remove(bare); err != nil {
			t.Fatal(err)
		}
		w.systemctl("daemon-reload")
		// The unit is right again; the process is still the bare one.
		w.drifted("the override removed, not restarted",
			drift{kind: "process", subject: "MainPID " + pid, problem: "restart needed: the process does not carry the planned filter, which systemd's ExecStart= now installs"})
		w.systemctl("restart", "metrics.service")
		w.serve()
		w.inSync("the override removed and restarted")
	})

	t.Run("a host that cannot be verified", func(t *testing.T) {
		w := w.in(t)
		// A second host, declared another architecture than this
		// machine's: it cannot be planned, so it cannot be checked, and
		// verify exits 1 while still reporting the first.
		foreign := "aarch64"
		if hostArch() == "aarch64" {
			foreign = "x86_64"
		}
		two := t.TempDir()
		for _, n := range []string{"metrics.fencer.hcl", "metrics.service"} {
			writeFile(t, filepath.Join(two, n), readFile(t, filepath.Join(w.cfg, n)))
		}
		writeFile(t, filepath.Join(two, "elsewhere.fencer.hcl"), fmt.Sprintf("host \"elsewhere\" {\n  scope       = var.scope\n  fencer_path = var.fencer_path\n  arch        = %q\n}\n", foreign))
		v := w.verify(two)
		want := fmt.Sprintf("host \"elsewhere\": cannot verify: the configuration says this host is %s, but it reports %s\n", foreign, hostArch())
		if v.human.code != 1 || !strings.Contains(v.human.stdout, want) || !strings.Contains(v.human.stdout, "host \"local\": in sync\n") {
			t.Fatalf("want exit 1, %q and local in sync:\n%s", want, v.human)
		}
		t.Logf("exit 1: %s", strings.TrimSpace(want))
		hosts := map[string]string{}
		for _, h := range v.json.Hosts {
			hosts[h.Host] = h.Error
		}
		if len(hosts) != 2 || hosts["local"] != "" || !strings.HasPrefix(hosts["elsewhere"], "the configuration says this host is "+foreign) {
			t.Errorf("verify -json hosts %q:\n%s", hosts, v.raw)
		}
	})
}

// TestVerifyVendorExecStart: fencer wraps a vendor unit's command (no
// unit_file); the vendor changing ExecStart= is drift until it is undone
// (or applied); the unit removed, the host cannot be verified (exit 1).
func TestVerifyVendorExecStart(t *testing.T) {
	w := newWorld(t)
	w.edit("metrics.fencer.hcl", unitFileLine, "")
	vendor := strings.Replace(readFile(t, filepath.Join(repo(t), "examples", "metrics", "metrics.service")), "/usr/local/libexec/metrics-server", w.server, 1)
	if !strings.Contains(vendor, "\nExecStart="+w.server+"\n") {
		t.Fatalf("the vendor unit:\n%s", vendor)
	}
	writeFile(t, w.unitFilePath(), vendor)
	if r := w.mustApply(); !strings.Contains(r.stdout, "Apply complete! Files: 3 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply:\n%s", r)
	}
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("the vendor unit wrapped")

	wrap := func(cmd string) string {
		for _, l := range strings.Split(readFile(t, w.dropInPath()), "\n") {
			if v, ok := strings.CutPrefix(l, "ExecStart="); ok && strings.HasSuffix(v, " -- "+w.server) {
				return strings.TrimSuffix(v, w.server) + cmd
			}
		}
		t.Fatalf("no wrapped ExecStart= in the drop-in:\n%s", readFile(t, w.dropInPath()))
		return ""
	}
	lines := strings.Split(readFile(t, w.dropInPath()), "\n")
	n := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "ExecStart=") && l != "ExecStart=" {
			n = i + 1
		}
	}
	writeFile(t, w.unitFilePath(), strings.Replace(vendor, "\nExecStart="+w.server+"\n", "\nExecStart="+w.server+" --verbose\n", 1))
	w.systemctl("daemon-reload")
	w.drifted("the vendor's ExecStart= changed",
		drift{"file", w.dropInPath(), "the drop-in differs from the plan",
			fmt.Sprintf("line %d: %q", n, "ExecStart="+wrap(w.server+" --verbose")), fmt.Sprintf("line %d: %q", n, "ExecStart="+wrap(w.server))},
		drift{"setting", "ExecStart", "the loader starts another command than the planned one: the unit's ExecStart= (or the service's exec_start) changed since apply",
			wrap(w.server + " --verbose"), wrap(w.server)})
	writeFile(t, w.unitFilePath(), vendor)
	w.systemctl("daemon-reload")
	w.inSync("the vendor unit put back")

	// No unit to wrap: the host cannot be planned, so not checked.
	if err := os.Remove(w.unitFilePath()); err != nil {
		t.Fatal(err)
	}
	w.systemctl("daemon-reload")
	v := w.verify()
	want := "host \"local\": cannot verify: service \"metrics\": unit metrics.service is not on this host (metrics.service: unit not found: "
	if v.human.code != 1 || !strings.HasPrefix(v.human.stdout, want) {
		t.Fatalf("the unit removed: want exit 1 and %q\n%s", want, v.human)
	}
	t.Logf("the unit removed: exit 1: %s", lineWith(v.human.stdout, "cannot verify"))
	if len(v.json.Hosts) != 1 || v.json.Hosts[0].Host != "local" || !strings.HasPrefix(v.json.Hosts[0].Error, "service \"metrics\": unit metrics.service is not on this host") {
		t.Errorf("verify -json:\n%s", v.raw)
	}
}

// TestVerifyUnitNotReloaded: verify reads the unit's files as they are now
// and compares systemd's loaded unit with them by the names of its files.
// A drop-in whose content changed since systemd loaded it (here a socket
// unit drop-in that passed the service a second socket, made harmless
// again without a reload) left those names the same, so verify said in
// sync while systemd ran with the content it loaded, which fencer never
// checked. systemd says so itself (NeedDaemonReload=yes): verify reports
// it, for the service and for fencer's socket unit, until a reload.
func TestVerifyUnitNotReloaded(t *testing.T) {
	_, err := exec.LookPath("curl")
	need(t, err == nil, "no curl on PATH")
	w := newWorld(t)
	w.mustApply()
	env := filepath.Join(w.unitDir, "metrics.service.d", "10-env.conf")
	writeFile(t, env, "[Service]\nEnvironment=FROM_ADMIN=1\n")
	w.systemctl("daemon-reload")
	w.systemctl("start", "metrics.socket")
	w.serve()
	w.inSync("a harmless drop-in, loaded")
	writeFile(t, env, "[Service]\nEnvironment=FROM_ADMIN=2\n")
	if v := w.show("metrics.service", "NeedDaemonReload"); v != "yes" {
		t.Fatalf("NeedDaemonReload=%s after a drop-in changed", v)
	}
	v := w.verify()
	if v.human.code != 2 || !strings.Contains(v.human.stdout, "metrics.service  setting NeedDaemonReload: systemd has not loaded the unit's files as they are now") {
		t.Errorf("a drop-in changed since systemd loaded it: want exit 2 naming NeedDaemonReload\n%s", v.human)
	}
	// fencer's socket unit too.
	w.systemctl("daemon-reload")
	w.inSync("reloaded")
	sock := filepath.Join(w.unitDir, "metrics.socket.d", "10-backlog.conf")
	writeFile(t, sock, "[Socket]\nBacklog=8\n")
	w.systemctl("daemon-reload")
	writeFile(t, sock, "[Socket]\nBacklog=16\n")
	v = w.verify()
	if v.human.code != 2 || !strings.Contains(v.human.stdout, "metrics.socket  setting NeedDaemonReload: systemd has not loaded the unit's files as they are now") {
		t.Errorf("a socket drop-in changed since systemd loaded it: want exit 2 naming NeedDaemonReload\n%s", v.human)
	}
	w.systemctl("daemon-reload")
	w.inSync("reloaded again")
}
