package verify

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/apply"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/procseccomp"
	"github.com/fencer-dev/fencer/plan"
)

// TestSameFilterDenied checks that a name of systemd's @default group that
// the plan took out again ("~getpid", enforce = "systemd") is drift when
// systemd allows it after all, and the others are not.
func TestSameFilterDenied(t *testing.T) {
	planned := []string{"execve", "read"}
	implicit := withoutDenied(plan.SystemdDefault252, []string{"getpid:13", "gettid", "ptrace:kill"})
	if _, got, ok := sameFilter("x86_64", planned, "execve read brk getpid", implicit); ok || got != "also getpid" {
		t.Errorf("getpid allowed: ok=%v, %q", ok, got)
	}
	if _, got, ok := sameFilter("x86_64", planned, "execve read brk mmap", implicit); !ok {
		t.Errorf("in sync reported as %q", got)
	}
	for _, c := range []struct{ planned, got string }{{"", "2147483646"}, {"", "0"}, {"1", "1"}} {
		if !sameErrno(c.planned, c.got) {
			t.Errorf("SystemCallErrorNumber %q planned, %q shown: reported as drift", c.planned, c.got)
		}
	}
	for _, c := range []struct{ planned, got string }{{"", "1"}, {"1", "13"}, {"13", "2147483646"}} {
		if sameErrno(c.planned, c.got) {
			t.Errorf("SystemCallErrorNumber %q planned, %q shown: not reported", c.planned, c.got)
		}
	}
}

func TestSameFilter(t *testing.T) {
	planned := []string{"read", "write", "newfstatat", "execve"}
	for _, c := range []struct {
		name, got string
		ok        bool
		extra     string
	}{
		{"exactly", "read write newfstatat execve", true, ""},
		{"with systemd's @default", "read write newfstatat execve brk mmap2 cacheflush rt_sigreturn", true, ""},
		{"an alias of a planned name", "read write fstatat execve", true, ""},
		{"widened", "read write newfstatat execve ptrace", false, "also ptrace"},
		{"narrowed", "read write execve", false, "without newfstatat"},
		{"both", "read write execve ptrace", false, "also ptrace; without newfstatat"},
		{"a deny list", "~ptrace", false, ""},
	} {
		want, got, ok := sameFilter("x86_64", planned, c.got, plan.SystemdDefault252)
		if ok != c.ok {
			t.Errorf("%s: ok = %v (want %q, got %q)", c.name, ok, want, got)
		}
		if c.extra != "" && got != c.extra {
			t.Errorf("%s: got %q, want %q", c.name, got, c.extra)
		}
	}
}

func TestSameExecStart(t *testing.T) {
	planned := "/usr/local/bin/fencer exec -filter=/etc/fencer/filters/m.service.bpf -sha256=ab -- /usr/bin/m --port 80"
	show := "{ path=/usr/local/bin/fencer ; argv[]=/usr/local/bin/fencer exec -filter=/etc/fencer/filters/m.service.bpf -sha256=ab -- /usr/bin/m --port 80 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
	if _, _, ok := sameExecStart(planned, show); !ok {
		t.Errorf("the planned command is not recognised")
	}
	changed := strings.Replace(show, "--port 80", "--port 81", 1)
	if _, got, ok := sameExecStart(planned, changed); ok || !strings.Contains(got, "--port 81") {
		t.Errorf("a changed command passes: %q", got)
	}
	bare := "{ path=/usr/bin/m ; argv[]=/usr/bin/m --port 80 ; ignore_errors=no ; start_time=[n/a] }"
	if _, _, ok := sameExecStart(planned, bare); ok {
		t.Errorf("a command outside the loader passes")
	}
}

func TestFileFinding(t *testing.T) {
	managed := "# Managed by fencer for service \"m\" (m.service) of configuration \"c\"; content sha256:" + strings.Repeat("a", 64) + ".\n# Do not edit: ...\n[Service]\n"
	for _, c := range []struct {
		ch      plan.Change
		problem string
	}{
		{plan.Change{Action: plan.NoOp}, ""},
		{plan.Change{Action: plan.Create, Role: "drop-in"}, "the drop-in is missing"},
		{plan.Change{Action: plan.Update, Role: "filter", Binary: true}, "the filter was replaced"},
		{plan.Change{Action: plan.Update, Role: "drop-in", Prior: "[Service]\n"}, "not fencer's"},
		{plan.Change{Action: plan.Update, Role: "drop-in", Prior: managed, Content: []byte("x")}, "edited by hand"},
		{plan.Change{Action: plan.Update, Role: "drop-in", Prior: strings.Replace(managed, `"c"`, `"other"`, 1), TakeOver: true, Owner: "other"}, `belongs to configuration "other"`},
		{plan.Change{Action: plan.Create, Role: plan.RoleOriginal}, ""},
	} {
		f, drift := fileFinding(&c.ch)
		if drift != (c.problem != "") || !strings.Contains(f.Problem, c.problem) {
			t.Errorf("%v: %v %q, want %q", c.ch.Action, drift, f.Problem, c.problem)
		}
	}
}

func TestFirstDifferencePassesOverTheHeader(t *testing.T) {
	planned := "# Managed by fencer for service \"m\"; content sha256:aa.\n# Do not edit\n[Service]\nExecStart=/l exec -- /m --new\n"
	found := "# Managed by fencer for service \"m\"; content sha256:bb.\n# Do not edit\n[Service]\nExecStart=/l exec -- /m\n"
	want, got := firstDifference(found, planned)
	if want != `line 4: "ExecStart=/l exec -- /m --new"` || got != `line 4: "ExecStart=/l exec -- /m"` {
		t.Errorf("planned %s, found %s", want, got)
	}
	// Only the header differs: it is the difference.
	headerOnly := strings.Replace(planned, "sha256:aa", "sha256:cc", 1)
	if want, got := firstDifference(headerOnly, planned); !strings.HasPrefix(want, "line 1: ") || !strings.Contains(got, "sha256:cc") {
		t.Errorf("a changed header: planned %s, found %s", want, got)
	}
	// A file without the header differs on line 1.
	if want, got := firstDifference("[Service]\n", planned); !strings.HasPrefix(want, "line 1: ") || got != `line 1: "[Service]"` {
		t.Errorf("no header: planned %s, found %s", want, got)
	}
}

func TestExecStartProblem(t *testing.T) {
	planned := "/usr/local/bin/fencer exec -filter=/etc/fencer/filters/m.service.bpf -sha256=ab -- /usr/bin/m --port 80"
	for _, c := range []struct{ got, want string }{
		{"/usr/local/bin/fencer exec -filter=/etc/fencer/filters/m.service.bpf -sha256=ab -- /usr/bin/m --port 81", "the loader starts another command than the planned one"},
		{"/usr/local/bin/fencer exec -filter=/etc/fencer/filters/m.service.bpf -sha256=cd -- /usr/bin/m --port 80", "through the loader, but not with the planned filter"},
		{"/usr/bin/m --port 80", "not started through the loader"},
	} {
		if p := execStartProblem(planned, c.got); !strings.Contains(p, c.want) {
			t.Errorf("%s: %q, want %q", c.got, p, c.want)
		}
	}
}

// fakeInspector answers for one process.
type fakeInspector struct{ exe string }

func (f fakeInspector) Status(int) (procseccomp.Status, error) { return procseccomp.Status{}, nil }
func (f fakeInspector) Filters(int) ([]bpf.Program, error)     { return nil, nil }
func (f fakeInspector) StartTime(int) (time.Time, error)       { return time.Time{}, nil }
func (f fakeInspector) Exe(int) (string, error)                { return f.exe, nil }

func TestCheckProgram(t *testing.T) {
	s := &plan.ServicePlan{Unit: "m.service",
		WrappedStart: "/usr/local/bin/fencer exec -filter=/f.bpf -sha256=ab -- /usr/bin/m --port 80"}
	if got := plannedProgram(s.WrappedStart); got != "/usr/bin/m" {
		t.Fatalf("plannedProgram = %q", got)
	}
	for exe, drift := range map[string]bool{"/usr/bin/m": false, "/usr/bin/m (deleted)": false, "/usr/bin/old": true} {
		r := &HostReport{}
		checkProgram(s, 7, "MainPID 7", fakeInspector{exe: exe}, r)
		if (len(r.Findings) > 0) != drift {
			t.Errorf("%s: findings %v", exe, r.Findings)
		}
	}
}

// procInspector answers for a process with a filter whose program may not
// be readable.
type procInspector struct {
	filters []bpf.Program
	err     error
	started time.Time
}

func (p procInspector) Status(int) (procseccomp.Status, error) {
	return procseccomp.Status{Mode: procseccomp.ModeFilter, Filters: 2}, nil
}
func (p procInspector) Filters(int) ([]bpf.Program, error) { return p.filters, p.err }
func (p procInspector) StartTime(int) (time.Time, error)   { return p.started, nil }
func (p procInspector) Exe(int) (string, error)            { return "/usr/bin/m", nil }

// mtimeTarget is a target that only knows when the filter was written.
type mtimeTarget struct {
	apply.Target
	mtime time.Time
}

func (m mtimeTarget) ModTime(context.Context, string) (time.Time, error) { return m.mtime, nil }

func TestCheckProcess(t *testing.T) {
	planned := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow)}
	other := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess)}
	s := &plan.ServicePlan{Unit: "m.service", Enforce: "exec", FilterPath: "/etc/fencer/filters/m.service.bpf",
		WrappedStart: "/usr/local/bin/fencer exec -filter=/f -sha256=ab -- /usr/bin/m"}
	file := &plan.Change{Content: planned.Encode(binary.LittleEndian)}
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		in      procInspector
		written time.Time
		want    string // in a finding; "" for in sync
	}{
		{"read back, planned", procInspector{filters: []bpf.Program{other, planned}}, t0, ""},
		{"read back, old program", procInspector{filters: []bpf.Program{other}, started: t0}, t0.Add(time.Minute), "restart needed"},
		{"not readable, started after the filter", procInspector{err: procseccomp.ErrNotPermitted, started: t0.Add(time.Minute)}, t0, ""},
		{"not readable, started before the filter", procInspector{err: procseccomp.ErrNotPermitted, started: t0}, t0.Add(time.Minute), "restart needed"},
	} {
		r := &HostReport{}
		checkProcess(context.Background(), mtimeTarget{mtime: c.written}, "x86_64", s, 7, file, true, c.in, r)
		var got string
		for _, f := range r.Findings {
			got += f.Problem + "; "
		}
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: findings %q, want %q (notes %v)", c.name, got, c.want, r.Notes)
		}
	}
}

// TestCheckFiles: systemd's names, unit file and drop-ins of the unit
// against those fencer planned with; names in any order, drop-ins by file
// name (systemd shows them with their directory's links resolved).
func TestCheckFiles(t *testing.T) {
	s := &plan.ServicePlan{Unit: "m.service", Names: []string{"m-alias.service", "m.service"}, FragmentPath: "/lib/systemd/system/m.service",
		DropIns: []string{"/etc/xdg/systemd/user/m.service.d/10-a.conf", "/etc/systemd/system/m.service.d/zz-fencer.conf"}}
	same := map[string]string{"Names": "m.service m-alias.service", "FragmentPath": "/lib/systemd/system/m.service",
		"DropInPaths": "/etc/systemd/user/m.service.d/10-a.conf /etc/systemd/system/m.service.d/zz-fencer.conf", "NeedDaemonReload": "no"}
	for _, tc := range []struct {
		name    string
		change  map[string]string
		subject string
		problem string
	}{
		{"the same", nil, "", ""},
		{"another name", map[string]string{"Names": "m.service"}, "Names", "systemd knows the unit by other names than fencer found in the unit directories"},
		{"another unit file", map[string]string{"FragmentPath": "/run/systemd/transient/m.service"}, "FragmentPath", "systemd reads another unit file for the unit"},
		{"another drop-in", map[string]string{"DropInPaths": same["DropInPaths"] + " /etc/systemd/system/m.service.d/zzz.conf"}, "DropInPaths", "systemd applies other drop-ins"},
		{"not reloaded", map[string]string{"FragmentPath": "/x/m.service", "NeedDaemonReload": "yes"}, "FragmentPath", "(systemd has not reloaded the unit's changed files: systemctl daemon-reload)"},
	} {
		props := map[string]string{}
		for k, v := range same {
			props[k] = v
		}
		for k, v := range tc.change {
			props[k] = v
		}
		r := &HostReport{}
		checkFiles(s, props, r)
		switch {
		case tc.subject == "" && len(r.Findings) > 0:
			t.Errorf("%s: %+v", tc.name, r.Findings)
		case tc.subject != "" && (len(r.Findings) != 1 || r.Findings[0].Subject != tc.subject || !strings.Contains(r.Findings[0].Problem, tc.problem)):
			t.Errorf("%s: %+v", tc.name, r.Findings)
		}
	}
}
