package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// dropInOf returns the text of the plan's drop-in for m.service.
func dropInOf(t *testing.T, p *Plan) string {
	t.Helper()
	for _, ch := range p.Hosts[0].Changes {
		if ch.Role == "drop-in" {
			return string(ch.Content)
		}
	}
	t.Fatal("no drop-in planned")
	return ""
}

// settingLines returns the values of key= in text, in order.
func settingLines(text, key string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestSystemdModeDenies checks that with enforce = "systemd" the drop-in's
// SystemCallFilter= allows exactly what the policy allows whatever the
// arguments: a syscall a rule kills or fails is not allowed (it was, on
// the main: ptrace and unshare returned 0), the @default names
// systemd adds to every allow-list and the policy does not allow are taken
// out again, a syscall allowed only under a condition is denied, and each
// deny other than the default gets its own errno or kill.
func TestSystemdModeDenies(t *testing.T) {
	h := &memHost{files: map[string][]byte{}, sysd: &host.SystemdFacts{Default: host.SystemdDefault252, Unknown: map[string]bool{}, ColonUnitsVerify: true}}
	p, err := makePlan(t, configtest.Systemd, h)
	if err != nil {
		t.Fatal(err)
	}
	drop := dropInOf(t, p)
	filters := settingLines(drop, "SystemCallFilter")
	if len(filters) != 3 || filters[0] != "" {
		t.Fatalf("SystemCallFilter= lines %q in:\n%s", filters, drop)
	}
	if got, want := filters[1], "brk execve exit_group uname"; got != want {
		t.Errorf("allowed: %q, want %q", got, want)
	}
	deny := strings.Fields(strings.TrimPrefix(filters[2], "~"))
	has := func(n string) bool {
		for _, d := range deny {
			if d == n {
				return true
			}
		}
		return false
	}
	for _, want := range []string{"getpid:13", "read:9", "mmap", "getuid", "rt_sigreturn", "gettid"} {
		if !has(want) {
			t.Errorf("~ entries lack %s: %v", want, deny)
		}
	}
	for _, not := range []string{"execve", "brk", "write", "exit_group", "cacheflush", "ptrace", "unshare"} {
		for _, d := range deny {
			if strings.HasPrefix(d, not+":") || d == not {
				t.Errorf("~ entries have %s: %v", d, deny)
			}
		}
	}
	if got := settingLines(drop, "SystemCallLog"); len(got) != 2 || got[1] != "uname" {
		t.Errorf("SystemCallLog= %q", got)
	}
	if strings.Contains(drop, "ExecStart=") || strings.Contains(drop, "fencer exec") {
		t.Errorf("the drop-in wraps ExecStart=:\n%s", drop)
	}
	for _, ch := range p.Hosts[0].Changes {
		if ch.Role == "filter" {
			t.Errorf("a BPF filter is planned, which nothing would install: %s %s", ch.Action, ch.Path)
		}
	}
	sp := p.Hosts[0].Services[0]
	// Their words: internal/views TestEnforcementLines.
	for _, want := range []Narrowed{
		{Rule: "log_write", Syscall: "write", Allows: true, Verdict: "kill_process"},
		{Rule: "no_stdin", Syscall: "read", Verdict: "errno(9)"},
	} {
		if !slices.Contains(sp.Enforcement.Narrowed, want) || sp.Enforcement.Names != NamesSystemdAlone {
			t.Errorf("enforcement lacks %+v: %+v", want, sp.Enforcement)
		}
	}

	// With an errno default, the kills are written as such.
	p, err = makePlan(t, strings.Replace(configtest.Systemd, "default_action = kill_process", "default_action = errno(EPERM)", 1), &memHost{files: map[string][]byte{}, sysd: h.sysd})
	if err != nil {
		t.Fatal(err)
	}
	drop = dropInOf(t, p)
	if f := settingLines(drop, "SystemCallFilter"); len(f) != 3 || !strings.Contains(f[2], " ptrace:kill ") || !strings.Contains(f[2], " unshare:kill") {
		t.Errorf("SystemCallFilter= %q", f)
	}
	if e := settingLines(drop, "SystemCallErrorNumber"); len(e) != 2 || e[1] != "1" {
		t.Errorf("SystemCallErrorNumber= %q", e)
	}

	// Once applied, a filter an earlier enforce = "exec" left goes.
	p, err = makePlan(t, configtest.Systemd, h)
	if err != nil {
		t.Fatal(err)
	}
	applyTo(h, p.Hosts[0])
	h.files[RoleFilter.Path(host.SystemPaths, "m.service")] = []byte("old filter")
	p, err = makePlan(t, configtest.Systemd, h)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c.Destroy != 1 || c.Add+c.Change != 0 {
		t.Errorf("counts %+v:\n%v", c, p.Hosts[0].Changes)
	}
}

// TestSystemdUnknownNames checks what plan does with a syscall name the
// host's systemd does not know (libseccomp 2.5.4 on systemd 252 knows
// neither listns nor file_getattr), on which apply's systemd-analyze
// verify fails: with enforce = "exec" it is left out of SystemCallFilter=
// with a note when the policy gives it the default action anyway, and
// systemd's name filter is dropped when it would change the policy's
// verdict; with enforce = "systemd" a verdict systemd cannot give is
// refused.
func TestSystemdUnknownNames(t *testing.T) {
	sysd := &host.SystemdFacts{Default: host.SystemdDefault252, Unknown: map[string]bool{"listns": true, "file_getattr": true}, ColonUnitsVerify: true}
	execCfg := strings.Replace(strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), `syscalls = ["execve", "exit_group"]`, `syscalls = ["execve", "exit_group"]
  }
  rule "new" {
    syscalls = ["listns"]
    action   = kill_process`, 1)
	p, err := makePlan(t, execCfg, &memHost{files: map[string][]byte{}, sysd: sysd})
	if err != nil {
		t.Fatal(err)
	}
	drop := dropInOf(t, p)
	if f := settingLines(drop, "SystemCallFilter"); len(f) != 2 || strings.Contains(f[1], "listns") || !strings.Contains(f[1], "execve") {
		t.Errorf("SystemCallFilter= %q", f)
	}
	if e := p.Hosts[0].Services[0].Enforcement; !slices.Contains(e.Unknown, unittext.UnknownName{Name: "listns"}) || e.Names != NamesBoth {
		t.Errorf("no note: %+v", e)
	}

	// Allowed: systemd's filter would kill it, so there is none.
	p, err = makePlan(t, strings.Replace(execCfg, "action   = kill_process", "action   = allow", 1), &memHost{files: map[string][]byte{}, sysd: sysd})
	if err != nil {
		t.Fatal(err)
	}
	if f := settingLines(dropInOf(t, p), "SystemCallFilter"); len(f) != 1 || f[0] != "" {
		t.Errorf("SystemCallFilter= %q, want only the reset", f)
	}
	if e := p.Hosts[0].Services[0].Enforcement; !slices.Contains(e.Unknown, unittext.UnknownName{Name: "listns", Policy: "allow"}) || e.Names != NamesFilterOnly {
		t.Errorf("enforcement: %+v", e)
	}

	// enforce = "systemd" cannot allow it at all.
	sysCfg := strings.Replace(configtest.Systemd, `syscalls = ["uname"]`, `syscalls = ["uname", "listns"]`, 1)
	_, err = makePlan(t, sysCfg, &memHost{files: map[string][]byte{}, sysd: sysd})
	if err == nil || !strings.Contains(err.Error(), "does not know the syscall name(s) listns (log)") {
		t.Errorf("err = %v", err)
	}
	// Denied with the default action: nothing to say.
	sysCfg = strings.Replace(configtest.Systemd, `syscalls = ["ptrace", "unshare"]`, `syscalls = ["ptrace", "unshare", "file_getattr"]`, 1)
	p, err = makePlan(t, sysCfg, &memHost{files: map[string][]byte{}, sysd: sysd})
	if err == nil {
		// kill_process is not the default errno... it is the default here.
		if strings.Contains(dropInOf(t, p), "file_getattr") {
			t.Errorf("file_getattr written:\n%s", dropInOf(t, p))
		}
	} else if !strings.Contains(err.Error(), "file_getattr") {
		t.Errorf("err = %v", err)
	}
}

// TestColonUnitName checks that a unit whose name has a ':' is refused at
// plan time on a host whose systemd-analyze verify fails on such names, as
// apply's would.
func TestColonUnitName(t *testing.T) {
	src := strings.Replace(strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), `unit      = "m.service"`, `unit      = "m:x.service"`, 1)
	_, err := makePlan(t, src, &memHost{files: map[string][]byte{}, sysd: &host.SystemdFacts{Default: host.SystemdDefault252}})
	if err == nil || !strings.Contains(err.Error(), "has a ':' in its name") {
		t.Errorf("err = %v", err)
	}
	if _, err := makePlan(t, src, &memHost{files: map[string][]byte{}, sysd: &host.SystemdFacts{Default: host.SystemdDefault252, ColonUnitsVerify: true}}); err != nil {
		t.Errorf("a systemd that verifies such names: %v", err)
	}
}

// TestSystemdModePrivilegedStart checks that with enforce = "systemd" a
// unit whose ExecStart= has the "+" prefix, which runs it without
// SystemCallFilter=, is refused: nothing else would filter it.
func TestSystemdModePrivilegedStart(t *testing.T) {
	for _, prefix := range []string{"+", "!!", "-+"} {
		src := strings.Replace(configtest.Systemd, `ExecStart=/usr/bin/m`, `ExecStart=`+prefix+`/usr/bin/m`, 1)
		_, err := makePlan(t, src, &memHost{files: map[string][]byte{}})
		if err == nil || !strings.Contains(err.Error(), "runs without SystemCallFilter=") {
			t.Errorf("ExecStart=%s/usr/bin/m: err = %v", prefix, err)
		}
	}
	src := strings.Replace(configtest.Systemd, `ExecStart=/usr/bin/m`, `ExecStart=!/usr/bin/m`, 1)
	if _, err := makePlan(t, src, &memHost{files: map[string][]byte{}}); err != nil {
		t.Errorf("ExecStart=!: %v", err)
	}
}

// TestErrnoZeroDefaultExec checks that with enforce = "exec" a default of
// errno(0) gets no SystemCallErrorNumber=0, which systemd 252 refuses
// ("Invalid error number, ignoring: 0", and apply's systemd-analyze verify
// fails on it): systemd could only kill the syscalls its list leaves out,
// so the BPF filter alone decides, as for a log default. A rule's
// errno(0) is "~NAME:0", which systemd takes, and stays possible.
func TestErrnoZeroDefaultExec(t *testing.T) {
	src := strings.Replace(strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), `unit_file = `, `default_action = errno(0)
  unit_file = `, 1)
	p, err := makePlan(t, src, &memHost{files: map[string][]byte{}, sysd: &host.SystemdFacts{Default: host.SystemdDefault252, Unknown: map[string]bool{}, ColonUnitsVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	drop := dropInOf(t, p)
	if e := settingLines(drop, "SystemCallErrorNumber"); len(e) != 1 || e[0] != "" {
		t.Errorf("SystemCallErrorNumber= %q, want only the reset:\n%s", e, drop)
	}
	if f := settingLines(drop, "SystemCallFilter"); len(f) != 1 || f[0] != "" {
		t.Errorf("SystemCallFilter= %q, want only the reset:\n%s", f, drop)
	}
	if e := p.Hosts[0].Services[0].Enforcement; e.Names != NamesFilterOnly || e.Default != "errno(0)" {
		t.Errorf("enforcement: %+v", e)
	}
}
