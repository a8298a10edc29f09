package why

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
)

// fakeMachine is a machine whose clocks, systemd, kernel log, auditd log
// and /proc/sys are the test's.
type fakeMachine struct {
	t    *testing.T
	dir  string
	now  time.Time
	mono time.Duration // CLOCK_MONOTONIC (and BOOTTIME) at now
	show string        // systemctl show's output
	m    *Machine
}

func newFake(t *testing.T) *fakeMachine {
	f := &fakeMachine{t: t, dir: t.TempDir(), now: time.Now().Truncate(time.Millisecond), mono: 10000 * time.Second}
	f.m = &Machine{
		Scope: "system",
		Systemctl: func(_ context.Context, args ...string) ([]byte, error) {
			if args[0] != "show" || args[len(args)-1] != "svc.service" {
				return nil, fmt.Errorf("unexpected systemctl %q", args)
			}
			return []byte(f.show), nil
		},
		Kmsg: filepath.Join(f.dir, "kmsg"), AuditLog: filepath.Join(f.dir, "audit.log"),
		ProcSys: filepath.Join(f.dir, "proc-sys"), Cgroup: filepath.Join(f.dir, "cgroup"),
		Now:    func() time.Time { return f.now },
		Clocks: func() (time.Duration, time.Duration) { return f.mono, f.mono },
	}
	f.write("proc-sys/kernel/core_pattern", "core\n")
	f.write("proc-sys/kernel/core_uses_pid", "0\n")
	f.write("proc-sys/kernel/seccomp/actions_logged", "kill_process kill_thread trap errno user_notif trace log\n")
	return f
}

func (f *fakeMachine) write(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// monoAt is the CLOCK_MONOTONIC microseconds of time t.
func (f *fakeMachine) monoAt(t time.Time) int64 {
	return (f.mono - f.now.Sub(t)).Microseconds()
}

// record is a kernel log line of a seccomp record at t.
func (f *fakeMachine) record(t time.Time, serial, pid int, comm, exe string, sig int, archHex string, nr int, code string) string {
	return fmt.Sprintf("5,%d,%d,-;audit: type=1326 audit(%d.%03d:%d): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=%d comm=%q exe=%q sig=%d arch=%s syscall=%d compat=0 ip=0x433870 code=%s",
		serial, f.monoAt(t), t.Unix(), t.Nanosecond()/1e6, serial, pid, comm, exe, sig, archHex, nr, code)
}

// unitShow is systemctl show's output for a unit whose main process pid
// ran from start to exit and ended with code and status.
func (f *fakeMachine) unitShow(pid int, start, exit time.Time, code, status int, workDir string) string {
	return strings.Join([]string{
		"LoadState=loaded", "MainPID=0", fmt.Sprintf("ExecMainPID=%d", pid),
		fmt.Sprintf("ExecMainStartTimestampMonotonic=%d", f.monoAt(start)),
		fmt.Sprintf("ExecMainExitTimestampMonotonic=%d", f.monoAt(exit)),
		fmt.Sprintf("ExecMainCode=%d", code), fmt.Sprintf("ExecMainStatus=%d", status),
		"ControlGroup=/system.slice/svc.service", "WorkingDirectory=" + workDir, "LimitCORESoft=0",
		"ExecStart={ path=/usr/local/bin/fencer ; argv[]=/usr/local/bin/fencer exec -filter=/etc/fencer/filters/svc.service.bpf -sha256=ab -- /usr/bin/svcd --flag ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
		"Result=signal", "",
	}, "\n")
}

// writeCore writes an x86_64 core of process pid killed by seccomp in
// syscall nr with args, as the kernel lays one out.
func writeCore(t *testing.T, path string, pid int, nr int32, a [6]uint64) {
	t.Helper()
	o := binary.LittleEndian
	st := make([]byte, 336)
	o.PutUint16(st[12:], 31)
	o.PutUint32(st[32:], uint32(pid))
	reg := func(i int, v uint64) { o.PutUint64(st[112+8*i:], v) }
	for i, idx := range []int{14, 13, 12, 7, 9, 8} {
		reg(idx, a[i])
	}
	reg(15, uint64(nr))
	reg(10, uint64(nr))
	si := make([]byte, 128)
	o.PutUint32(si[0:], 31)
	o.PutUint32(si[8:], 1)
	o.PutUint64(si[16:], 0x433870)
	o.PutUint32(si[24:], uint32(nr))
	o.PutUint32(si[28:], arch.AuditX86_64)
	var notes bytes.Buffer
	for _, n := range []struct {
		typ  uint32
		desc []byte
	}{{1, st}, {0x53494749, si}} {
		_ = binary.Write(&notes, o, [3]uint32{5, uint32(len(n.desc)), n.typ})
		notes.WriteString("CORE\x00\x00\x00\x00")
		notes.Write(n.desc)
	}
	var out bytes.Buffer
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	_ = binary.Write(&out, o, elf.Header64{Ident: ident, Type: uint16(elf.ET_CORE), Machine: uint16(elf.EM_X86_64),
		Version: uint32(elf.EV_CURRENT), Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1})
	_ = binary.Write(&out, o, elf.Prog64{Type: uint32(elf.PT_NOTE), Off: 120, Filesz: uint64(notes.Len())})
	out.Write(notes.Bytes())
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func eventsByPID(r *Report) map[int]*Event {
	out := map[int]*Event{}
	for _, ev := range r.Events {
		out[ev.PID] = ev
	}
	return out
}

// TestRun: which records are the unit's, one event per record whatever
// the number of logs that hold it, the core found where core_pattern puts
// it, losses and notes.
func TestRun(t *testing.T) {
	a := arch.X86_64
	p, _ := loadPolicy(t, testPolicy, a)
	f := newFake(t)
	now := f.now
	start, exit := now.Add(-time.Minute), now.Add(-10*time.Second)
	work := filepath.Join(f.dir, "work")
	f.show = f.unitShow(4242, start, exit, cldDumped, 31, work)
	write, getpid := nr(t, a, "write"), nr(t, a, "getpid")
	kill := "0x80000000"
	main := f.record(exit.Add(-time.Millisecond), 101, 4242, "svcd", "/usr/bin/svcd", 31, "c000003e", int(write), kill)
	f.write("kmsg", strings.Join([]string{
		// Before -since: left out.
		f.record(now.Add(-3*time.Hour), 90, 4242, "svcd", "/usr/bin/svcd", 31, "c000003e", int(write), kill),
		// The same pid before the main process started, another program:
		// an earlier process that had the number.
		f.record(start.Add(-10*time.Minute), 95, 4242, "other", "/usr/bin/other", 31, "c000003e", int(write), kill),
		// An earlier run of the unit's program.
		f.record(start.Add(-5*time.Minute), 96, 5000, "svcd", "/usr/bin/svcd", 31, "c000003e", int(nr(t, a, "mount")), kill),
		// Someone else's.
		f.record(start.Add(-4*time.Minute), 97, 6000, "unrelated", "/usr/bin/unrelated", 31, "c000003e", int(write), kill),
		fmt.Sprintf("4,98,%d,-;kauditd_printk_skb: 12 callbacks suppressed", f.monoAt(start.Add(-3*time.Minute))),
		main,
		// A process of the unit's control group, logged.
		f.record(exit.Add(-2*time.Second), 102, 7000, "helper", "/usr/lib/svc/helper", 0, "c000003e", int(getpid), "0x7ffc0000"),
	}, "\n")+"\n")
	// auditd has the main record too (and would, with a daemon, be the
	// only one).
	auditd := strings.Replace(main[strings.Index(main, "type=1326"):], "type=1326 audit(", "type=SECCOMP msg=audit(", 1)
	f.write("audit.log", auditd+"\n")
	f.write("cgroup/system.slice/svc.service/cgroup.procs", "7000\n")
	// The main process's core, where core_pattern ("core", relative)
	// puts it: in the unit's working directory.
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCore(t, filepath.Join(work, "core"), 4242, int32(write), [6]uint64{5, 0x7ffd1000, 42})
	// Another core there is another process's: not used.
	writeCore(t, filepath.Join(work, "core.5000"), 5000, int32(write), [6]uint64{1})

	r := Run(context.Background(), f.m, p, Options{Unit: "svc.service", Since: now.Add(-time.Hour)})
	if len(r.Events) != 3 {
		t.Fatalf("%d events, want 3: %s", len(r.Events), dump(r))
	}
	ev := eventsByPID(r)
	mainEv := ev[4242]
	if mainEv == nil || !mainEv.Explained || mainEv.Syscall != "write" || mainEv.Arch != "x86_64" || mainEv.Action != "kill_process" ||
		strings.Join(mainEv.MatchedBy, ",") != "main_pid,program" || mainEv.DecidedBy != "default" {
		t.Fatalf("main event: %s", dump(mainEv))
	}
	if len(mainEv.Records) != 1 {
		t.Errorf("the record in two logs makes %d records of the event: %v", len(mainEv.Records), mainEv.Records)
	}
	if strings.Join(mainEv.Args, " ") != "0x5 0x7ffd1000 0x2a 0x0 0x0 0x0" || mainEv.ArgsFrom != filepath.Join(work, "core") {
		t.Errorf("arguments %v from %q", mainEv.Args, mainEv.ArgsFrom)
	}
	if !strings.Contains(strings.Join(mainEv.Explanation, "\n"), "false for arg0 = 5") {
		t.Errorf("explanation: %q", mainEv.Explanation)
	}
	if e := ev[5000]; e == nil || strings.Join(e.MatchedBy, ",") != "program" || e.Syscall != "mount" || e.Args != nil {
		t.Errorf("earlier run's event: %s", dump(e))
	}
	if e := ev[7000]; e == nil || strings.Join(e.MatchedBy, ",") != "cgroup" || e.Action != "log" || e.DecidedBy != "rule" || e.Rule.Name != "logged" {
		t.Errorf("the helper's event: %s", dump(e))
	}
	srcs := map[string]Source{}
	for _, s := range r.Sources {
		srcs[s.Name] = s
	}
	if s := srcs[f.m.Kmsg]; s.Status != "read" || s.Records != 5 || s.Lost != 12 {
		t.Errorf("kmsg source %+v", s)
	}
	if s := srcs[f.m.AuditLog]; s.Status != "read" || s.Records != 1 {
		t.Errorf("auditd source %+v", s)
	}
	if !r.Explained() {
		t.Error("not explained")
	}
	var text bytes.Buffer
	Render(&text, []*Report{r})
	for _, want := range []string{
		"pid 4242 (svcd) killed at ",
		"  syscall:    write (1) on x86_64\n",
		"  arguments:  write(0x5, 0x7ffd1000, 0x2a), from " + filepath.Join(work, "core") + "\n",
		"  decided by the default action kill_process (",
		`    rule "log_write" (`,
		"  matched by: the unit's main process (systemd's ExecMainPID); its program, which is the unit's",
		"pid 7000 (helper) logged at ",
		"Note: the kernel reported 12 audit record(s) of any process lost since",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	// JSON: the documented shape.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	_ = json.Unmarshal(b, &j)
	for _, k := range []string{"host", "unit", "service", "arch", "since", "events", "sources", "notes"} {
		if _, ok := j[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	e0 := j["events"].([]any)[1].(map[string]any)
	for _, k := range []string{"time", "pid", "comm", "exe", "matched_by", "arch", "audit_arch", "compat", "x32", "syscall", "syscall_nr",
		"action", "signal", "code", "args", "args_from", "decided_by", "rule", "default", "rules", "explanation", "explained", "records"} {
		if _, ok := e0[k]; !ok {
			t.Errorf("JSON event lacks %q: %v", k, e0)
		}
	}
}

// TestRunLostRecord: systemd says the main process died by SIGSYS, and no
// log holds its record: an event that says so, not explained, pointing at
// the loss the kernel logged then; a core given with -core explains it.
func TestRunLostRecord(t *testing.T) {
	a := arch.X86_64
	p, _ := loadPolicy(t, testPolicy, a)
	f := newFake(t)
	exit := f.now.Add(-5 * time.Second)
	f.show = f.unitShow(4300, f.now.Add(-time.Minute), exit, cldKilled, 31, "")
	f.write("kmsg", fmt.Sprintf("4,200,%d,-;kauditd_printk_skb: 812 callbacks suppressed\n", f.monoAt(exit.Add(2*time.Second))))
	r := Run(context.Background(), f.m, p, Options{Unit: "svc.service"})
	if len(r.Events) != 1 || r.Explained() {
		t.Fatalf("%s", dump(r))
	}
	ev := r.Events[0]
	text := strings.Join(ev.Explanation, "\n")
	if ev.PID != 4300 || ev.MatchedBy[0] != "systemd" || ev.DecidedBy != "unknown" || ev.SyscallNr != nil ||
		!strings.Contains(text, "neither a seccomp audit record nor a core dump") ||
		!strings.Contains(text, `probably among those lost: `+f.m.Kmsg+` logged "kauditd_printk_skb: 812 callbacks suppressed"`) ||
		!strings.Contains(text, "LimitCORE is 0") {
		t.Errorf("event: %s", dump(ev))
	}
	if !r.Since.Equal(f.now.Add(-f.mono).Truncate(time.Second)) {
		t.Errorf("since %v, want boot", r.Since)
	}

	// Its core, where core_pattern puts it, says which call it was.
	work := filepath.Join(f.dir, "work")
	f.show = f.unitShow(4300, f.now.Add(-time.Minute), exit, cldDumped, 31, work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCore(t, filepath.Join(work, "core"), 4300, int32(nr(t, a, "write")), [6]uint64{9})
	r = Run(context.Background(), f.m, p, Options{Unit: "svc.service"})
	if len(r.Events) != 1 || !r.Explained() {
		t.Fatalf("%s", dump(r))
	}
	if ev := r.Events[0]; ev.Syscall != "write" || ev.DecidedBy != "default" || ev.MatchedBy[0] != "main_pid" ||
		ev.ArgsFrom != filepath.Join(work, "core") || !strings.Contains(strings.Join(ev.Explanation, "\n"), "false for arg0 = 9") {
		t.Errorf("event from the core found: %s", dump(ev))
	}
	os.Remove(filepath.Join(work, "core"))

	core := filepath.Join(f.dir, "given.core")
	writeCore(t, core, 4300, int32(nr(t, a, "ptrace")), [6]uint64{0})
	r = Run(context.Background(), f.m, p, Options{Unit: "svc.service", Cores: []string{core}})
	if len(r.Events) != 1 || !r.Explained() {
		t.Fatalf("%s", dump(r))
	}
	ev = r.Events[0]
	if ev.Syscall != "ptrace" || ev.DecidedBy != "rule" || ev.Rule.Name != "no_ptrace" || ev.ArgsFrom != core || ev.MatchedBy[0] != "core_file" {
		t.Errorf("event from the core: %s", dump(ev))
	}
	// Something that is not a core: a note, no event from it.
	r = Run(context.Background(), f.m, p, Options{Unit: "svc.service", Cores: []string{f.write("notcore", "hello")}})
	if !strings.Contains(strings.Join(r.Notes, "\n"), "not an ELF core file") {
		t.Errorf("notes %q", r.Notes)
	}
}

// TestRunNoSystemd: without a manager, records are matched by the
// planned program, and the report says so.
func TestRunNoSystemd(t *testing.T) {
	a := arch.X86_64
	p, _ := loadPolicy(t, testPolicy, a)
	f := newFake(t)
	f.m.Systemctl = func(context.Context, ...string) ([]byte, error) {
		return nil, fmt.Errorf("host local: systemctl show: %w", host.ErrNotLive)
	}
	f.write("kmsg", f.record(f.now.Add(-time.Second), 5, 77, "svcd", "/usr/bin/svcd", 31, "c000003e", int(nr(t, a, "write")), "0x80000000")+"\n")
	r := Run(context.Background(), f.m, p, Options{Unit: "svc.service", Program: "/usr/bin/svcd"})
	if len(r.Events) != 1 || r.Events[0].MatchedBy[0] != "program" || !strings.Contains(strings.Join(r.Notes, "\n"), "no systemd manager runs for the system scope: records are matched by the unit's program only") {
		t.Errorf("%s", dump(r))
	}
	// A -log file in journalctl's JSON, and a garbage one.
	f.write("kmsg", "")
	j := fmt.Sprintf(`{"__REALTIME_TIMESTAMP":"%d","_TRANSPORT":"kernel","MESSAGE":%q}`, f.now.UnixMicro(),
		strings.SplitN(f.record(f.now.Add(-time.Second), 6, 78, "svcd", "/usr/bin/svcd", 31, "c000003e", 1, "0x80000000"), ";", 2)[1])
	r = Run(context.Background(), f.m, p, Options{Unit: "svc.service", Program: "/usr/bin/svcd",
		Logs: []string{f.write("saved.json", j+"\n"), f.write("junk", "\x00\x01junk\n")}})
	if len(r.Events) != 1 || r.Events[0].PID != 78 {
		t.Errorf("%s", dump(r))
	}
	// A kernel that does not log kills: the report says so.
	f.write("proc-sys/kernel/seccomp/actions_logged", "log\n")
	r = Run(context.Background(), f.m, p, Options{Unit: "svc.service"})
	if !strings.Contains(strings.Join(r.Notes, "\n"), `the kernel does not log kill_process verdicts: /proc/sys/kernel/seccomp/actions_logged is "log"`) {
		t.Errorf("notes %q", r.Notes)
	}
}

func TestCoreGlob(t *testing.T) {
	rec := CoreName{PID: 1234, UID: "1000", GID: "100", Comm: "my/comm", Exe: "/usr/bin/svc d"}
	for _, c := range []struct {
		pattern string
		usesPID bool
		want    string
	}{
		{"core", false, "/srv/core"},
		{"core", true, "/srv/core.1234"},
		{"core.%p", true, "/srv/core.1234"},
		{"/var/crash/%e.%p.%t", false, `/var/crash/my!comm.1234.*`},
		{"/cores/%E-%u-%g-%s-%%-%h-%i", false, "/cores/!usr!bin!svc d-1000-100-31-%-" + hostname() + "-*"},
		{"/c/[x]*%f", false, `/c/\[x]\*svc d`},
		{"/c/%e-%u", false, "/c/*-*"},
	} {
		proc := rec
		if strings.HasPrefix(c.pattern, "/c/%e") {
			proc = CoreName{PID: 1234}
		}
		if got := CoreGlob(c.pattern, c.usesPID, "/srv", proc); got != c.want {
			t.Errorf("CoreGlob(%q, %v) = %q, want %q", c.pattern, c.usesPID, got, c.want)
		}
	}
}

func hostname() string { h, _ := os.Hostname(); return h }

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestRunJournal: the journal's audit records, and the PIDs it recorded
// for the unit, through journalctl (a script standing for it here).
func TestRunJournal(t *testing.T) {
	a := arch.X86_64
	p, _ := loadPolicy(t, testPolicy, a)
	f := newFake(t)
	f.show = f.unitShow(4242, f.now.Add(-time.Minute), time.Time{}, 0, 0, "")
	at := f.now.Add(-30 * time.Second)
	us := at.UnixMicro()
	audit := func(pid int, exe string, serial int) string {
		return fmt.Sprintf(`{"_TRANSPORT":"audit","_AUDIT_TYPE":"1326","_AUDIT_ID":"%d","_SOURCE_REALTIME_TIMESTAMP":"%d","MESSAGE":"SECCOMP auid=0 uid=0 gid=0 ses=1 pid=%d comm=\"x\" exe=\"%s\" sig=31 arch=c000003e syscall=1 compat=0 ip=0x1 code=0x80000000"}`,
			serial, us, pid, exe)
	}
	script := "#!/bin/sh\ncase \"$*\" in\n" +
		"*_TRANSPORT=audit*) cat <<'EOF'\n" + audit(8000, "/usr/lib/svc/child", 11) + "\n" + audit(8001, "/usr/lib/svc/child", 12) + "\n" + audit(8002, "/usr/bin/elsewhere", 13) + "\nEOF\n" +
		"echo 'Hint: You are currently not seeing messages from other users and the system.' >&2;;\n" +
		"*'_SYSTEMD_UNIT=svc.service + COREDUMP_UNIT=svc.service'*) cat <<'EOF'\n" +
		`{"_PID":"8000","_EXE":"/usr/lib/svc/child"}` + "\n" + `{"COREDUMP_PID":"8002","COREDUMP_EXE":"/usr/lib/svc/child"}` + "\nEOF\n;;\n" +
		"esac\n"
	f.m.Journalctl = f.write("journalctl", script)
	if err := os.Chmod(f.m.Journalctl, 0o755); err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), f.m, p, Options{Unit: "svc.service"})
	ev := eventsByPID(r)
	// 8000: the journal recorded it for the unit, with that program;
	// 8001: not recorded; 8002: recorded with another program (the pid
	// was reused).
	if len(r.Events) != 1 || ev[8000] == nil || strings.Join(ev[8000].MatchedBy, ",") != "journal" {
		t.Errorf("%s", dump(r))
	}
	for _, s := range r.Sources {
		if s.Name == "journal (audit)" && (s.Records != 3 || s.Status != "read" || !strings.Contains(s.Detail, "not seeing messages from other users")) {
			t.Errorf("journal source %+v", s)
		}
	}
}
