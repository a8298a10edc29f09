package verify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/procseccomp"
	"github.com/fencer-dev/fencer/plan"
)

// TestSameFilterDenied checks that a name of systemd's @default group that
// the plan took out again ("~getpid", enforce = "systemd") is drift when
// systemd allows it after all, and the others are not.
func TestSameFilterDenied(t *testing.T) {
	planned := []string{"execve", "read"}
	implicit := withoutDenied(host.SystemdDefault252, []string{"getpid:13", "gettid", "ptrace:kill"})
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
		want, got, ok := sameFilter("x86_64", planned, c.got, host.SystemdDefault252)
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

// fakeProc is a host with one process and a few files.
type fakeProc struct {
	status  procseccomp.Status
	filters []bpf.Program
	err     error // of Filters
	started time.Time
	exe     string
	execFn  string
	// files maps a path to its content, or to "-> TARGET" for a
	// symbolic link (to an absolute target).
	files map[string]string
	// loaderChanged is every file's ctime; otherFencer makes verify's
	// own fencer another than the loader.
	loaderChanged time.Time
	otherFencer   bool
}

func (f fakeProc) Status(context.Context, int) (procseccomp.Status, error) { return f.status, nil }
func (f fakeProc) Filters(context.Context, int) ([]bpf.Program, error)     { return f.filters, f.err }
func (f fakeProc) StartTime(context.Context, int) (time.Time, error)       { return f.started, nil }
func (f fakeProc) Exe(context.Context, int) (string, error) {
	if f.exe == "" {
		return "", fs.ErrPermission
	}
	return f.exe, nil
}
func (f fakeProc) ExecFn(context.Context, int) (string, error) {
	if f.execFn == "" {
		return "", fs.ErrPermission
	}
	return f.execFn, nil
}
func (f fakeProc) Resolve(_ context.Context, p string) (string, error) {
	for i := 0; i < 40; i++ {
		c, ok := f.files[p]
		if !ok {
			return "", fmt.Errorf("resolve %s: %w", p, fs.ErrNotExist)
		}
		target, link := strings.CutPrefix(c, "-> ")
		if !link {
			return p, nil
		}
		p = target
	}
	return "", errors.New("too many links")
}
func (f fakeProc) FileSum(_ context.Context, p string) (string, time.Time, error) {
	c, ok := f.files[p]
	if !ok {
		return "", time.Time{}, fs.ErrNotExist
	}
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:]), f.loaderChanged, nil
}
func (f fakeProc) Fencer(context.Context) (string, error) {
	sum := sha256.Sum256([]byte(f.files["/usr/local/bin/fencer"]))
	if f.otherFencer {
		sum = sha256.Sum256([]byte("another fencer"))
	}
	return hex.EncodeToString(sum[:]), nil
}
func (f fakeProc) Head(_ context.Context, p string, n int) ([]byte, error) {
	c, ok := f.files[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(c[:min(n, len(c))]), nil
}

// elf is the start of a binary.
const elf = "\x7fELF\x02\x01\x01"

// hostFiles are the files of the fake host: a loader, a binary, a link
// to it, a script for it, and the binary's old version.
func hostFiles() map[string]string {
	return map[string]string{
		"/usr/local/bin/fencer": elf,
		"/usr/bin/m":            elf,
		"/usr/bin/m-2.1":        elf,
		"/usr/bin/m2":           "-> /usr/bin/m-2.1",
		"/usr/bin/old":          elf,
		"/srv/run.sh":           "#!/usr/bin/m2 --serve\nrun\n",
		"/usr/sbin/tool":        elf,
	}
}

func TestCheckProgram(t *testing.T) {
	wrapped := func(cmd string) *plan.ServicePlan {
		return &plan.ServicePlan{Unit: "m.service", WrappedStart: "/usr/local/bin/fencer exec -filter=/f.bpf -sha256=ab -- " + cmd}
	}
	if got := plannedProgram(wrapped("/usr/bin/m --port 80").WrappedStart); got != "/usr/bin/m" {
		t.Fatalf("plannedProgram = %q", got)
	}
	for _, c := range []struct {
		name, cmd, exe, execFn string
		finding, note          string // parts of the finding ("" for none) and of a note
	}{
		{"the planned binary", "/usr/bin/m --port 80", "/usr/bin/m", "", "", ""},
		{"replaced on disk since", "/usr/bin/m", "/usr/bin/m (deleted)", "", "", ""},
		{"another binary", "/usr/bin/m", "/usr/bin/old", "", "restart needed: the process runs another program than the unit now starts", ""},
		{"through a symbolic link", "/usr/bin/m2", "/usr/bin/m-2.1", "/usr/bin/m2", "",
			"MainPID 7 runs the program the unit starts: /usr/bin/m2 -> /usr/bin/m-2.1 (symbolic links)"},
		{"the link moved on since", "/usr/bin/m2", "/usr/bin/m", "/usr/bin/m2",
			"restart needed: the process runs another program than the unit now starts (the unit starts /usr/bin/m2 -> /usr/bin/m-2.1 (symbolic links))", ""},
		{"a #! script", "/srv/run.sh", "/usr/bin/m-2.1", "/srv/run.sh", "",
			"MainPID 7 runs the program the unit starts: /srv/run.sh: #!/usr/bin/m2 -> /usr/bin/m-2.1 (symbolic links)"},
		{"the interpreter of another script", "/srv/run.sh", "/usr/bin/m-2.1", "/srv/other.sh", "restart needed: the process runs another script than the unit now starts", ""},
		{"a script's interpreter changed", "/srv/run.sh", "/usr/bin/m", "/srv/run.sh", "restart needed: the process runs another program than the unit now starts (the unit starts /srv/run.sh: #!/usr/bin/m2", ""},
		{"a script, its name unreadable", "/srv/run.sh", "/usr/bin/m-2.1", "", "", "which script it runs could not be read"},
		{"a name found in PATH", "tool -v", "/usr/sbin/tool", "/usr/sbin/tool", "", "MainPID 7 runs the program the unit starts: tool, found in PATH as /usr/sbin/tool"},
		{"a name found elsewhere than the program", "tool", "/usr/bin/old", "/usr/sbin/tool", "restart needed: the process runs another program than the unit now starts (the unit starts tool, found in PATH as /usr/sbin/tool)", ""},
		{"a program that is gone", "/usr/bin/gone", "/usr/bin/m", "", "the program the unit starts cannot be executed", ""},
	} {
		r := &HostReport{}
		checkProgram(context.Background(), wrapped(c.cmd), plannedProgram(wrapped(c.cmd).WrappedStart), 7, "MainPID 7", fakeProc{exe: c.exe, execFn: c.execFn, files: hostFiles()}, r)
		var findings, notes []string
		for _, f := range r.Findings {
			findings = append(findings, f.Problem+" [want "+f.Want+", got "+f.Got+"]")
		}
		for _, n := range r.Notes {
			notes = append(notes, n.Text)
		}
		if (c.finding == "") != (len(findings) == 0) || c.finding != "" && !strings.Contains(findings[0], c.finding) {
			t.Errorf("%s: findings %q, want %q", c.name, findings, c.finding)
		}
		if c.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], c.note)) {
			t.Errorf("%s: notes %q, want %q", c.name, notes, c.note)
		}
		if c.note == "" && len(notes) > 0 {
			t.Errorf("%s: notes %q", c.name, notes)
		}
	}
}

// fakeTarget is a host that knows when the filter was written and what
// systemctl show says of the unit (shows, one answer per call, the last
// one repeated).
type fakeTarget struct {
	host.Target
	mtime time.Time
	shows []string
	calls *int
}

// withProcs is a fake target with the processes of a fake host.
type withProcs struct {
	fakeTarget
	fakeProc
}

func (m fakeTarget) ModTime(context.Context, string) (time.Time, error) { return m.mtime, nil }

func (m fakeTarget) Systemctl(_ context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 || args[0] != "show" || len(m.shows) == 0 {
		return nil, fmt.Errorf("unexpected systemctl %q", args)
	}
	i := min(*m.calls, len(m.shows)-1)
	*m.calls++
	return []byte(m.shows[i]), nil
}

// execStartShow is systemctl show's ExecStart= for a command systemd
// started as pid (0: not since its last reload).
func execStartShow(argv string, pid int) string {
	path, _, _ := strings.Cut(argv, " ")
	started := "n/a"
	if pid != 0 {
		started = "Mon 2026-12-07 14:58:06.195605 UTC"
	}
	return fmt.Sprintf("{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=[%s] ; stop_time=[n/a] ; pid=%d ; code=(null) ; status=0/0 }", path, argv, started, pid)
}

func TestCheckProcess(t *testing.T) {
	planned := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow)}
	other := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess)}
	wrapped := "/usr/local/bin/fencer exec -filter=/f -sha256=ab -- /usr/bin/m"
	s := &plan.ServicePlan{Unit: "m.service", Enforce: "exec", FilterPath: "/etc/fencer/filters/m.service.bpf", WrappedStart: wrapped}
	file := &plan.Change{Content: planned.Encode(binary.LittleEndian)}
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	traced := fmt.Errorf("read seccomp filters of pid 7: %w: the process is already traced by pid 9 (strace), and a process has one tracer at a time", procseccomp.ErrNotPermitted)
	// A process of the unit: systemd's two filters (for
	// SystemCallArchitectures= and SystemCallFilter=) and the loader's.
	proc := func(filters int, err error, started time.Time) fakeProc {
		return fakeProc{status: procseccomp.Status{Mode: procseccomp.ModeFilter, Filters: filters}, err: err, started: started,
			exe: "/usr/bin/m", files: hostFiles(), loaderChanged: t0.Add(-time.Hour)}
	}
	show := func(argv string, pid int) string {
		return "MainPID=7\nExecStart=" + execStartShow(argv, pid) + "\n"
	}
	for _, c := range []struct {
		name    string
		in      fakeProc
		written time.Time
		shows   []string // systemctl show's ExecStart= and MainPID, before and after
		want    string   // in a finding; "" for in sync
		note    string
	}{
		{name: "read back, planned", in: fakeProc{status: procseccomp.Status{Mode: 2, Filters: 3}, filters: []bpf.Program{other, planned}, exe: "/usr/bin/m", files: hostFiles()},
			written: t0, note: "carries the planned filter (1 instructions, read back with ptrace)"},
		{name: "read back, old program", in: fakeProc{status: procseccomp.Status{Mode: 2, Filters: 3}, filters: []bpf.Program{other}, started: t0}, written: t0.Add(time.Minute), want: "restart needed"},
		{name: "exited while inspected", in: proc(3, fmt.Errorf("read seccomp filters of pid 7: %w", syscall.ESRCH), t0), written: t0, want: "cannot read its filters"},
		{name: "traced, started before the filter", in: proc(3, traced, t0), written: t0.Add(time.Minute), want: "restart needed: the process started at "},
		{name: "traced, fewer filters than systemd's and the loader's", in: proc(2, traced, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 7)},
			want: "restart needed: the process does not carry the planned filter: the kernel counts 2 seccomp filter(s) on it, and a start through the loader gives at least 3 (2 of systemd's for SystemCallArchitectures= and SystemCallFilter=, and the loader's)"},
		{name: "traced, systemd started it through the loader", in: proc(3, traced, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 7)},
			note: "MainPID 7 carries the planned filter: systemd started this process through the loader with the planned filter (its ExecStart= record: pid 7, started Mon 2026-12-07 14:58:06.195605 UTC), and it has since executed /usr/bin/m; its filters could not be read back (read seccomp filters of pid 7: not permitted: the process is already traced by pid 9 (strace)"},
		{name: "no privilege, systemd started it through the loader", in: proc(3, procseccomp.ErrNotPermitted, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 7)},
			note: "MainPID 7 carries the planned filter: systemd started this process through the loader"},
		{name: "traced, the count faked, systemd reloaded since", in: proc(3, traced, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 0)},
			want: "cannot prove that the process carries the planned filter: its filters could not be read back (read seccomp filters of pid 7: not permitted: the process is already traced by pid 9 (strace), and a process has one tracer at a time), and systemd no longer records which process it started for ExecStart= (it forgets on every daemon-reload)"},
		{name: "traced, systemd started it without the loader", in: proc(3, traced, t0.Add(time.Minute)), written: t0, shows: []string{show("/usr/bin/m", 7)},
			want: "restart needed: the process was not started through the loader with the planned filter: systemd's record of this process is ExecStart=/usr/bin/m"},
		{name: "traced, systemd's record of another process", in: proc(3, traced, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 8)},
			want: "cannot prove that the process carries the planned filter: its filters could not be read back"},
		{name: "traced, still the loader", in: func() fakeProc { p := proc(3, traced, t0.Add(time.Minute)); p.exe = "/usr/local/bin/fencer"; return p }(), written: t0, shows: []string{show(wrapped, 7)},
			want: "and systemd started it through the loader, and it still runs the loader (/usr/local/bin/fencer)"},
		{name: "traced, the loader is not this fencer", in: func() fakeProc { p := proc(3, traced, t0.Add(time.Minute)); p.otherFencer = true; return p }(), written: t0, shows: []string{show(wrapped, 7)},
			want: "and systemd started it through the loader /usr/local/bin/fencer, which is not this fencer"},
		{name: "traced, the loader replaced since the start", in: func() fakeProc {
			p := proc(3, traced, t0.Add(time.Minute))
			p.loaderChanged = t0.Add(2 * time.Minute)
			return p
		}(), written: t0, shows: []string{show(wrapped, 7)},
			want: "and systemd started it through the loader /usr/local/bin/fencer, which changed at 2026-11-28T12:02:00Z, after the process started at 2026-11-28T12:01:00Z"},
		{name: "traced, its program unreadable", in: func() fakeProc { p := proc(3, traced, t0.Add(time.Minute)); p.exe = ""; return p }(), written: t0, shows: []string{show(wrapped, 7)},
			want: "whether it still runs the loader is unknown"},
		{name: "traced, restarted while checked", in: proc(3, traced, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 7), "MainPID=12\nExecStart=" + execStartShow(wrapped, 12) + "\n"},
			want: "the unit's process or systemd's record of it changed while it was checked"},
		{name: "kernel without filter readback, nothing else", in: proc(-1, procseccomp.ErrUnsupported, t0.Add(time.Minute)), written: t0, shows: []string{show(wrapped, 0)},
			want: "cannot prove that the process carries the planned filter"},
	} {
		calls := 0
		tgt := fakeTarget{mtime: c.written, shows: c.shows, calls: &calls}
		props := map[string]string{"SystemCallArchitectures": "native", "SystemCallFilter": "read write"}
		if len(c.shows) > 0 {
			for _, l := range strings.Split(c.shows[0], "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					props[k] = v
				}
			}
			calls = 1 // the first answer is checkUnit's
		}
		r := &HostReport{}
		checkProcess(context.Background(), withProcs{tgt, c.in}, "x86_64", s, 7, file, props, true, r)
		var got, notes string
		for _, f := range r.Findings {
			got += f.Problem + "; "
		}
		for _, n := range r.Notes {
			notes += n.Text + "; "
		}
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: findings %q, want %q (notes %q)", c.name, got, c.want, notes)
		}
		if !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q, want %q", c.name, notes, c.note)
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

func TestParseExecCommands(t *testing.T) {
	two := "{ path=/bin/true ; argv[]=/bin/true a ; b ; ignore_errors=no ; start_time=[Mon 2026-12-07 15:01:57 UTC] ; stop_time=[Mon 2026-12-07 15:01:57 UTC] ; pid=21463 ; code=exited ; status=0 }\n" +
		"{ path=/bin/true ; argv[]=/bin/true b ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
	got := parseExecCommands(two)
	want := []execCommand{{"/bin/true", "/bin/true a ; b", 21463, "Mon 2026-12-07 15:01:57 UTC"}, {"/bin/true", "/bin/true b", 0, "n/a"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Two commands are not the one planned, even when the last is.
	if _, g, ok := sameExecStart("/bin/true b", two); ok || g != "/bin/true a ; b | /bin/true b" {
		t.Errorf("two commands: %v %q", ok, g)
	}
}

// TestCheckSystemdProcess: with enforce = "systemd", a process that
// started before fencer's drop-in was written runs under the settings it
// was started with.
func TestCheckSystemdProcess(t *testing.T) {
	s := &plan.ServicePlan{Unit: "m.service", Enforce: "systemd"}
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	filtered := procseccomp.Status{Mode: procseccomp.ModeFilter, Filters: 2}
	for _, c := range []struct {
		name    string
		in      fakeProc
		written time.Time
		record  int
		want    string // in a finding; "" for in sync
		note    string
	}{
		{"started before the drop-in", fakeProc{status: filtered, started: t0}, t0.Add(time.Minute), 7, "restart needed: the process started at 2026-11-28T12:00:00Z, before fencer's drop-in (its SystemCallFilter=) was written at 2026-11-28T12:01:00Z", ""},
		{"started after, recorded", fakeProc{status: filtered, started: t0.Add(time.Minute), exe: "/usr/bin/m", files: hostFiles()}, t0, 7, "", "systemd started it since it last loaded the unit (its ExecStart= record: pid 7"},
		{"started after, reloaded since", fakeProc{status: filtered, started: t0.Add(time.Minute), exe: "/usr/bin/m", files: hostFiles()}, t0, 0, "", "it started at 2026-11-28T12:01:00Z, after fencer's drop-in was written at 2026-11-28T12:00:00Z"},
		{"no filter", fakeProc{status: procseccomp.Status{}, started: t0.Add(time.Minute)}, t0, 7, "the process runs without any seccomp filter", ""},
		{"another program", fakeProc{status: filtered, started: t0.Add(time.Minute), exe: "/usr/bin/old", files: hostFiles()}, t0, 7,
			"restart needed: the process runs another program than the unit now starts", "systemd started it since it last loaded the unit"},
	} {
		calls := 0
		r := &HostReport{}
		props := map[string]string{"ExecStart": execStartShow("/usr/bin/m", c.record)}
		checkSystemdProcess(context.Background(), withProcs{fakeTarget{mtime: c.written, calls: &calls}, c.in}, s, 7, "/etc/systemd/system/m.service.d/zz-fencer.conf", props, r)
		var got, notes string
		for _, f := range r.Findings {
			got += f.Problem + "; "
		}
		for _, n := range r.Notes {
			notes += n.Text + "; "
		}
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) || !strings.Contains(notes, c.note) {
			t.Errorf("%s: findings %q, notes %q; want %q, %q", c.name, got, notes, c.want, c.note)
		}
	}
}

// TestShowKeepsEveryCommand: systemctl show prints one ExecStart= line per
// command; a unit that runs a command before the loader's is not the
// planned one, though its last command is.
func TestShowKeepsEveryCommand(t *testing.T) {
	wrapped := "/usr/local/bin/fencer exec -filter=/f -sha256=ab -- /usr/bin/m"
	out := "ExecStart=" + execStartShow("/usr/bin/m --unfiltered", 0) + "\nExecStart=" + execStartShow(wrapped, 0) + "\nMainPID=0\n"
	calls := 0
	props, err := show(context.Background(), fakeTarget{shows: []string{out}, calls: &calls}, "m.service", "ExecStart", "MainPID")
	if err != nil {
		t.Fatal(err)
	}
	if want, got, ok := sameExecStart(wrapped, props["ExecStart"]); ok || got != "/usr/bin/m --unfiltered | "+wrapped {
		t.Errorf("two commands: in sync %v, planned %q, found %q", ok, want, got)
	}
}
