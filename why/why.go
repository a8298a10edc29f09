// Package why finds out why a seccomp filter stopped a service: it reads
// the kernel's seccomp audit records of the unit's processes, and core
// dumps of them where there are any, and explains each with the planned
// filter — the syscall by name, its architecture, the action the kernel
// took, the rule or default that decided, with its place in the
// configuration, and the arguments when a core dump has them.
//
// # Where records come from
//
// The kernel writes a seccomp audit record (type 1326) for every kill, and
// for the log action; an audit daemon receives them, or, without one, the
// kernel log does, through a rate limit. Machine reads, in order: auditd's
// log (log_file of /etc/audit/auditd.conf, and its rotations), the journal
// (kernel messages and journald's own audit records, when journald runs)
// and /dev/kmsg (what dmesg prints). A record appears once whatever the
// number of places that hold it (records are identified by their time
// stamp and serial).
//
// # Which records are the unit's
//
// The audit record names the process (pid, comm, exe), not its unit. A
// record is the unit's when its pid is one systemd gave the unit's main
// process (ExecMainPID, within the main process's run), a process in the
// unit's control group now, or a process the journal recorded for the unit
// (its log lines, systemd-coredump's record) running the same program; or
// when its program (exe) is the unit's program, within -since. A child of
// the service that runs another program, and has left no line in the
// journal, is not found; a process outside the unit that runs the same
// program is, and the report says that it was matched by its program
// only.
//
// # Arguments
//
// Audit records carry no arguments. A core dump does: the kernel dumps
// core for a kill_process verdict when the process's RLIMIT_CORE and
// /proc/sys/kernel/core_pattern allow it, with the registers at the
// syscall (see package coredump). Machine looks for one with coredumpctl
// (systemd-coredump) and where core_pattern puts core files, and reads
// those given with Options.Cores; a core is used only when its process ID,
// syscall and architecture are the record's. Without one, the explanation
// says which conditions cannot have held.
package why

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/auditlog"
	"github.com/fencer-dev/fencer/internal/coredump"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// Options say what to look for.
type Options struct {
	// Unit is the unit's name.
	Unit string
	// Since is the earliest record to report; zero means since boot.
	Since time.Time
	// Logs are more files to read records from, in any of the formats
	// package auditlog reads (kernel log, auditd log, journalctl -o json).
	Logs []string
	// Cores are core files to read arguments from.
	Cores []string
	// Program is the program the plan says the unit runs (an absolute
	// path, or ""): records of it are the unit's too, besides those of
	// the program systemd says the unit runs now.
	Program string
}

// Machine is where the records, the unit's state and the core dumps are:
// the local machine, through the paths and commands below (tests point
// them elsewhere).
type Machine struct {
	// Scope is "system" or "user": which manager runs the unit, which
	// journal fields name it.
	Scope string
	// Systemctl runs systemctl for the scope.
	Systemctl func(ctx context.Context, args ...string) ([]byte, error)
	// Home is the user manager's home directory: a user unit's working
	// directory by default.
	Home string
	// Kmsg is the kernel log device ("/dev/kmsg"), AuditdConf auditd's
	// configuration ("/etc/audit/auditd.conf"), AuditLog its log when the
	// configuration does not say ("/var/log/audit/audit.log"), ProcSys
	// "/proc/sys" and Cgroup "/sys/fs/cgroup". Empty skips each.
	Kmsg, AuditdConf, AuditLog, ProcSys, Cgroup string
	// Journalctl and Coredumpctl are the commands; empty skips them.
	Journalctl, Coredumpctl string
	// Now and Clocks give the time; Clocks returns CLOCK_MONOTONIC and
	// CLOCK_BOOTTIME now, which turn systemd's and the kernel log's
	// monotonic time stamps into wall-clock times.
	Now    func() time.Time
	Clocks func() (monotonic, boottime time.Duration)
}

// Local returns this machine in scope, with systemctl run by run.
func Local(scope, home string, run func(ctx context.Context, args ...string) ([]byte, error)) *Machine {
	return &Machine{
		Scope: scope, Systemctl: run, Home: home,
		Kmsg: "/dev/kmsg", AuditdConf: "/etc/audit/auditd.conf", AuditLog: "/var/log/audit/audit.log",
		ProcSys: "/proc/sys", Cgroup: "/sys/fs/cgroup",
		Journalctl: "journalctl", Coredumpctl: "coredumpctl",
		Now: time.Now, Clocks: clocks,
	}
}

// Report is what was found for one unit on one host.
type Report struct {
	Host    string `json:"host"`
	Unit    string `json:"unit"`
	Service string `json:"service"`
	Arch    string `json:"arch"`
	// Since is the earliest time looked at.
	Since time.Time `json:"since"`
	// Events are the unit's processes the filter stopped or logged,
	// oldest first.
	Events []*Event `json:"events"`
	// Sources are the places read, and what each held.
	Sources []Source `json:"sources"`
	// Notes are what a person may want to know: records lost, why there
	// are no arguments, a filter changed since apply.
	Notes []string `json:"notes"`
	// Error is set when the host could not be looked at.
	Error string `json:"error,omitempty"`
}

// Explained reports whether at least one event was found and explained.
func (r *Report) Explained() bool {
	for _, e := range r.Events {
		if e.Explained {
			return true
		}
	}
	return false
}

// Source is one place records were read from.
type Source struct {
	Name string `json:"name"`
	// Status is "read", "absent" or "error".
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Records is the number of seccomp records it held since Since, of
	// any process; Lost how many records it says were lost (rate limit,
	// backlog) since then.
	Records int `json:"records"`
	Lost    int `json:"lost"`
}

// RecordRef names one record of an event.
type RecordRef struct {
	Source string `json:"source"`
	ID     string `json:"id"`
}

// Event is one syscall of one of the unit's processes that the filter
// stopped or logged.
type Event struct {
	Time time.Time `json:"time"`
	PID  int       `json:"pid"`
	Comm string    `json:"comm"`
	Exe  string    `json:"exe"`
	// MatchedBy says why the process is the unit's: "main_pid",
	// "cgroup", "journal", "program", "core_file" (given by the user), or
	// "systemd" (systemd's record of the main process's death alone).
	MatchedBy []string `json:"matched_by"`
	// Arch is the call's architecture ("" when fencer does not know its
	// AUDIT_ARCH value), Compat and X32 as the kernel reported them.
	Arch      string `json:"arch"`
	AuditArch string `json:"audit_arch"`
	Compat    bool   `json:"compat"`
	X32       bool   `json:"x32"`
	// Syscall is the syscall's name ("" when unknown) and SyscallNr its
	// number as the filter saw it (nil when not known at all).
	Syscall   string `json:"syscall"`
	SyscallNr *int64 `json:"syscall_nr"`
	// Action is what the kernel did (kill_process, log, ...), Signal the
	// signal it sent (31, SIGSYS, for the kill actions) and Code the
	// filter's return value.
	Action string `json:"action"`
	Signal int    `json:"signal"`
	Code   string `json:"code"`
	IP     string `json:"ip"`
	// Args are the six argument registers in hex, nil when unknown;
	// ArgsFrom says where they were read.
	Args     []string `json:"args"`
	ArgsFrom string   `json:"args_from"`
	// DecidedBy, Rule, Candidates, Default and Rules are the planned
	// filter's explanation (see Explanation); Explanation says it in
	// words.
	DecidedBy   string      `json:"decided_by"`
	Rule        *RuleView   `json:"rule"`
	Candidates  []*RuleView `json:"candidates"`
	Default     *DefaultRef `json:"default"`
	Rules       []*RuleView `json:"rules"`
	Explanation []string    `json:"explanation"`
	// Explained is false when it is not known which syscall it was.
	Explained bool        `json:"explained"`
	Records   []RecordRef `json:"records"`

	call     Call
	haveCall bool
	rec      *auditlog.Record
	core     *coredump.Core
}

// DefaultRef is the policy's default action and where it is written.
type DefaultRef struct {
	Action string `json:"action"`
	Where  Where  `json:"where"`
}

// unitState is what systemd says of the unit.
type unitState struct {
	err                  error
	mainPID, execMainPID int
	execStart, execExit  time.Time
	execCode, execStatus int
	cgroup, workDir      string
	limitCore            string
	program              string
}

// Run looks for the unit's seccomp events on m and explains each with
// the planned filter pol.
func Run(ctx context.Context, m *Machine, pol *Policy, opts Options) *Report {
	r := &Report{Unit: opts.Unit, Service: pol.Compiled.Service.Name, Arch: pol.Compiled.Arch.Name,
		Events: []*Event{}, Sources: []Source{}, Notes: []string{}}
	now := m.Now()
	bootTime := now
	if m.Clocks != nil {
		_, boot := m.Clocks()
		bootTime = now.Add(-boot)
	}
	r.Since = opts.Since
	if r.Since.IsZero() {
		r.Since = bootTime.Truncate(time.Second)
	}
	st := m.unit(ctx, opts.Unit)
	switch {
	case errors.Is(st.err, host.ErrNotLive):
		r.Notes = append(r.Notes, fmt.Sprintf("no systemd manager runs for the %s scope: records are matched by the unit's program only", m.Scope))
	case st.err != nil:
		r.Notes = append(r.Notes, fmt.Sprintf("systemd: %v: records are matched by the unit's program only", st.err))
	}

	records, losses := m.records(ctx, r, opts.Logs)
	pids := m.unitPIDs(ctx, st, opts.Unit, r)
	programs := map[string]bool{}
	for _, p := range []string{st.program, opts.Program} {
		if filepath.IsAbs(p) {
			programs[p] = true
			if resolved, err := filepath.EvalSymlinks(p); err == nil {
				// The kernel names the program with links resolved.
				programs[resolved] = true
			}
		}
	}

	for _, rec := range records {
		by := pids.match(rec)
		if programs[rec.Exe] {
			by = append(by, "program")
		}
		if len(by) == 0 {
			continue
		}
		ev := eventOf(rec)
		ev.MatchedBy = by
		r.Events = append(r.Events, ev)
	}
	m.cores(ctx, r, st, opts.Cores)
	if st.err == nil && (st.execCode == cldKilled || st.execCode == cldDumped) && st.execStatus == coredump.SIGSYS {
		known := false
		for _, ev := range r.Events {
			known = known || ev.PID == st.execMainPID
		}
		if !known && (st.execExit.IsZero() || !st.execExit.Before(r.Since)) {
			// systemd saw the main process die by SIGSYS, and no log has
			// its record (the kernel's rate limit): its core, if it
			// left one, still says which call it was.
			proc := CoreName{PID: st.execMainPID}
			if c, from := m.findCore(ctx, proc, st.execExit, st); c != nil {
				ev := eventOfCore(c, from)
				ev.Time, ev.MatchedBy = st.execExit, []string{"main_pid"}
				r.Events = append(r.Events, ev)
			} else {
				r.Events = append(r.Events, &Event{Time: st.execExit, PID: st.execMainPID, MatchedBy: []string{"systemd"},
					Action: "kill_process", Signal: coredump.SIGSYS, Records: []RecordRef{}, Rules: []*RuleView{}, Candidates: []*RuleView{}})
			}
		}
	}
	sort.SliceStable(r.Events, func(i, j int) bool { return r.Events[i].Time.Before(r.Events[j].Time) })
	for _, ev := range r.Events {
		explain(pol, ev)
		if !ev.Explained {
			ev.Explanation = append(ev.Explanation, missing(ev, losses, st)...)
		}
	}
	r.notes(st, losses)
	if m.ProcSys != "" {
		// The kernel logs only the actions this lists.
		if b, err := os.ReadFile(filepath.Join(m.ProcSys, "kernel", "seccomp", "actions_logged")); err == nil {
			logged := strings.Fields(string(b))
			for _, a := range []string{"kill_process", "kill_thread", "log"} {
				if !contains(logged, a) {
					r.Notes = append(r.Notes, fmt.Sprintf("the kernel does not log %s verdicts: /proc/sys/kernel/seccomp/actions_logged is %q", a, strings.Join(logged, " ")))
				}
			}
		}
	}
	return r
}

// Exit statuses of systemd's ExecMainCode= (CLD_* of waitid).
const (
	cldKilled = 2
	cldDumped = 3
)

// eventOf makes an event of a record.
func eventOf(rec *auditlog.Record) *Event {
	nr := rec.Syscall
	return &Event{
		Time: rec.Time, PID: rec.PID, Comm: rec.Comm, Exe: rec.Exe,
		AuditArch: fmt.Sprintf("%#x", rec.Arch), Compat: rec.Compat,
		SyscallNr: &nr, Signal: rec.Sig, Code: fmt.Sprintf("%#x", rec.Code), IP: fmt.Sprintf("%#x", rec.IP),
		Records: []RecordRef{{Source: rec.Source, ID: rec.ID()}},
		call:    Call{AuditArch: rec.Arch, Nr: rec.Syscall, Ret: rec.Code}, haveCall: true, rec: rec,
	}
}

// explain fills in the planned filter's explanation of ev.
func explain(pol *Policy, ev *Event) {
	if ev.core != nil && ev.core.Regs != nil {
		args := ev.core.Regs.Args
		ev.call.Args = &args
		ev.Args = make([]string, 6)
		for i, a := range args {
			ev.Args[i] = fmt.Sprintf("%#x", a)
		}
	}
	if !ev.haveCall {
		ev.DecidedBy = "unknown"
		ev.Rules, ev.Candidates = []*RuleView{}, []*RuleView{}
		ev.Explanation = []string{}
		return
	}
	e := pol.Explain(ev.call)
	ev.Arch, ev.X32 = e.Syscall.Arch, e.Syscall.X32
	ev.Syscall = e.Syscall.Name
	ev.Action = e.Kernel.Name
	ev.DecidedBy = string(e.Decided)
	ev.Rule, ev.Candidates = e.Rule, e.Candidates
	if ev.Candidates == nil {
		ev.Candidates = []*RuleView{}
	}
	ev.Default = &DefaultRef{Action: e.Default, Where: e.DefaultWhere}
	ev.Rules = e.Rules
	if ev.Rules == nil {
		ev.Rules = []*RuleView{}
	}
	ev.Explanation = e.Lines
	ev.Explained = true
}

// missing says why an event has no syscall: where a record could have
// been lost, and how to get a core next time.
func missing(ev *Event, losses []auditlog.Loss, st *unitState) []string {
	out := []string{"systemd says the main process was killed by SIGSYS, which a seccomp filter's kill sends, but neither a seccomp audit record nor a core dump of it was found."}
	for _, l := range losses {
		if !l.Time.IsZero() && !ev.Time.IsZero() && !l.Time.Before(ev.Time.Add(-time.Second)) && l.Time.Before(ev.Time.Add(30*time.Second)) {
			out = append(out, fmt.Sprintf("Its record was probably among those lost: %s logged %q at %s.", l.Source, l.Text, l.Time.Format(timeFormat)))
			break
		}
	}
	out = append(out, "The kernel log keeps at most 10 audit records every 5 seconds when no audit daemon runs (printk_ratelimit), and only as many lines as its ring buffer holds; an audit daemon (auditd) or journald's audit socket keeps every one.")
	if st.limitCore == "0" {
		out = append(out, "No core dump: the unit's LimitCORE is 0. With LimitCORE=infinity in a drop-in of the unit, the next kill leaves one, with the arguments.")
	}
	return out
}

// timeFormat is how times are shown.
const timeFormat = "2006-01-02 15:04:05.000 MST"

// notes adds what the reader may want to know about the search.
func (r *Report) notes(st *unitState, losses []auditlog.Loss) {
	lost := 0
	for _, l := range losses {
		lost += l.Count
	}
	if lost > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the kernel reported %d audit record(s) of any process lost since %s (rate limit or backlog); records of the unit may be among them", lost, r.Since.Format(timeFormat)))
	}
	noArgs := false
	for _, ev := range r.Events {
		noArgs = noArgs || (ev.Explained && ev.Args == nil && ev.Signal == coredump.SIGSYS)
	}
	if noArgs && st.limitCore == "0" {
		r.Notes = append(r.Notes, "the kernel's audit record has no arguments, and the unit's LimitCORE is 0, so its processes leave no core dump: with LimitCORE=infinity in a drop-in of the unit (and a core_pattern that keeps cores), the next kill leaves one, and fencer why shows the arguments")
	}
}

// unit reads the unit's state from systemd.
func (m *Machine) unit(ctx context.Context, unit string) *unitState {
	st := &unitState{}
	if m.Systemctl == nil {
		st.err = errors.New("no systemd manager")
		return st
	}
	props := []string{"LoadState", "MainPID", "ExecMainPID", "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic",
		"ExecMainCode", "ExecMainStatus", "ControlGroup", "WorkingDirectory", "LimitCORESoft", "ExecStart"}
	args := []string{"show"}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	out, err := m.Systemctl(ctx, append(args, "--", unit)...)
	if err != nil {
		st.err = err
		return st
	}
	v := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, val, ok := strings.Cut(line, "="); ok {
			v[k] = val
		}
	}
	if v["LoadState"] == "not-found" {
		st.err = fmt.Errorf("systemd has no unit %s", unit)
		return st
	}
	st.mainPID, _ = strconv.Atoi(v["MainPID"])
	st.execMainPID, _ = strconv.Atoi(v["ExecMainPID"])
	st.execCode, _ = strconv.Atoi(v["ExecMainCode"])
	st.execStatus, _ = strconv.Atoi(v["ExecMainStatus"])
	st.execStart = m.monotonic(v["ExecMainStartTimestampMonotonic"])
	st.execExit = m.monotonic(v["ExecMainExitTimestampMonotonic"])
	st.cgroup = v["ControlGroup"]
	st.workDir = strings.TrimLeft(v["WorkingDirectory"], "-!")
	st.limitCore = v["LimitCORESoft"]
	st.program = programOf(v["ExecStart"])
	return st
}

// monotonic turns systemd's CLOCK_MONOTONIC microseconds into a time;
// zero for 0 (never).
func (m *Machine) monotonic(us string) time.Time {
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil || n == 0 || m.Clocks == nil {
		return time.Time{}
	}
	mono, _ := m.Clocks()
	return m.Now().Add(-(mono - time.Duration(n)*time.Microsecond))
}

// programOf finds the program a unit's ExecStart= runs, as systemctl show
// prints it ("{ path=... ; argv[]=... ; ... }"): the command after "--"
// when fencer's loader runs it, else path. Only the first command.
func programOf(execStart string) string {
	var path, argv string
	for _, part := range strings.Split(execStart, " ; ") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "{ ")
		if v, ok := strings.CutPrefix(part, "path="); ok && path == "" {
			path = v
		}
		if v, ok := strings.CutPrefix(part, "argv[]="); ok && argv == "" {
			argv = v
		}
	}
	if cmds, err := unitfile.Split(argv); err == nil && len(cmds) == 1 {
		words := cmds[0].Argv
		for i, w := range words {
			if w == "--" && i+1 < len(words) && i >= 1 && words[1] == "exec" {
				return words[i+1]
			}
		}
	}
	return path
}

// pidMatch is one way a PID is known to be the unit's.
type pidMatch struct {
	by       string
	from, to time.Time // zero: open
	exe      string    // when known, the program it ran
}

type pidSet map[int][]pidMatch

func (s pidSet) add(pid int, m pidMatch) {
	if pid > 0 {
		s[pid] = append(s[pid], m)
	}
}

// match lists the ways rec's process is known to be the unit's.
func (s pidSet) match(rec *auditlog.Record) []string {
	var by []string
	for _, m := range s[rec.PID] {
		if !m.from.IsZero() && rec.Time.Before(m.from.Add(-time.Second)) {
			continue
		}
		if !m.to.IsZero() && rec.Time.After(m.to.Add(time.Second)) {
			continue
		}
		if m.exe != "" && rec.Exe != "" && m.exe != rec.Exe {
			continue
		}
		if !contains(by, m.by) {
			by = append(by, m.by)
		}
	}
	return by
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unitPIDs gathers the PIDs known to be the unit's processes.
func (m *Machine) unitPIDs(ctx context.Context, st *unitState, unit string, r *Report) pidSet {
	s := pidSet{}
	if st.err == nil {
		// The main process of the last run, from its start to its end.
		s.add(st.execMainPID, pidMatch{by: "main_pid", from: st.execStart, to: st.execExit})
		if st.mainPID != st.execMainPID {
			s.add(st.mainPID, pidMatch{by: "main_pid"})
		}
		if st.cgroup != "" && m.Cgroup != "" {
			if b, err := os.ReadFile(filepath.Join(m.Cgroup, st.cgroup, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					pid, _ := strconv.Atoi(f)
					s.add(pid, pidMatch{by: "cgroup"})
				}
			}
		}
	}
	if m.Journalctl == "" {
		return s
	}
	// The journal's records of the unit's processes: their log lines and
	// systemd-coredump's entries, each with the program it ran.
	unitField, coreField := "_SYSTEMD_UNIT", "COREDUMP_UNIT"
	if m.Scope == "user" {
		unitField, coreField = "_SYSTEMD_USER_UNIT", "COREDUMP_USER_UNIT"
	}
	args := []string{"--no-pager", "-q", "-o", "json", "--output-fields=_PID,_EXE,COREDUMP_PID,COREDUMP_EXE",
		"--since=@" + strconv.FormatInt(r.Since.Unix(), 10), unitField + "=" + unit, "+", coreField + "=" + unit}
	seen := map[string]bool{}
	err := m.journal(ctx, args, func(line []byte) {
		var e map[string]any
		if json.Unmarshal(line, &e) != nil {
			return
		}
		str := func(k string) string { s, _ := e[k].(string); return s }
		for _, f := range [][2]string{{"_PID", "_EXE"}, {"COREDUMP_PID", "COREDUMP_EXE"}} {
			pid, _ := strconv.Atoi(str(f[0]))
			key := str(f[0]) + " " + str(f[1])
			if pid > 0 && !seen[key] {
				seen[key] = true
				s.add(pid, pidMatch{by: "journal", exe: str(f[1])})
			}
		}
	})
	var warn *journalWarning
	if err != nil && !errors.Is(err, exec.ErrNotFound) && !errors.As(err, &warn) {
		r.Notes = append(r.Notes, fmt.Sprintf("the journal's records of the unit's processes: %v", err))
	}
	return s
}

// journal runs journalctl with args and calls fn with each line of its
// output, up to auditlog.MaxLine long.
func (m *Machine) journal(ctx context.Context, args []string, fn func([]byte)) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.Journalctl, args...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), auditlog.MaxLine)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	scanErr := sc.Err()
	if scanErr != nil {
		// Drain the rest, so that journalctl ends.
		_, _ = io.Copy(io.Discard, out)
	}
	err = cmd.Wait()
	msg := strings.Join(strings.Fields(stderr.String()), " ")
	if err != nil {
		return fmt.Errorf("journalctl: %w: %s", err, msg)
	}
	if scanErr != nil {
		return scanErr
	}
	if msg != "" {
		// journalctl says what it could not read (the journal of other
		// users without the groups for it), and exits 0.
		return &journalWarning{msg}
	}
	return nil
}

// journalWarning is what journalctl said on standard error when it read
// the journal nonetheless.
type journalWarning struct{ msg string }

func (w *journalWarning) Error() string { return "journalctl: " + w.msg }

// records reads every source of records, keeps those since r.Since, one
// per record, and fills in r.Sources.
func (m *Machine) records(ctx context.Context, r *Report, logs []string) ([]*auditlog.Record, []auditlog.Loss) {
	var all []*auditlog.Record
	var losses []auditlog.Loss
	seen := map[string]bool{}
	add := func(name string, res *auditlog.Result, err error, absent bool) {
		src := Source{Name: name, Status: "read"}
		switch {
		case absent:
			src.Status = "absent"
			if err != nil {
				src.Detail = err.Error()
			}
		case err != nil:
			src.Status, src.Detail = "error", err.Error()
		}
		if res != nil {
			for _, rec := range res.Records {
				if rec.Time.Before(r.Since) {
					continue
				}
				src.Records++
				if id := rec.ID(); !seen[id] {
					seen[id] = true
					all = append(all, rec)
				}
			}
			for _, l := range res.Losses {
				if !l.Time.IsZero() && l.Time.Before(r.Since) {
					continue
				}
				src.Lost += l.Count
				losses = append(losses, l)
			}
			if res.Truncated > 0 {
				src.Detail = strings.TrimSpace(src.Detail + fmt.Sprintf(" %d seccomp record(s) cut short (a long program path?) or malformed were skipped", res.Truncated))
			}
		}
		r.Sources = append(r.Sources, src)
	}
	// auditd's log and its rotations, oldest first.
	if log := m.auditLogPath(); log != "" {
		var files []string
		for i := 9; i >= 1; i-- {
			if _, err := os.Stat(fmt.Sprintf("%s.%d", log, i)); err == nil {
				files = append(files, fmt.Sprintf("%s.%d", log, i))
			}
		}
		files = append(files, log)
		for _, name := range files {
			res, err := readFile(name, nil)
			add(name, res, err, errors.Is(err, fs.ErrNotExist))
		}
	}
	if m.Journalctl != "" {
		since := "--since=@" + strconv.FormatInt(r.Since.Unix(), 10)
		for _, q := range []struct{ name, match string }{
			{"journal (audit)", "_TRANSPORT=audit"},
			{"journal (kernel)", "_TRANSPORT=kernel"},
		} {
			var buf bytes.Buffer
			err := m.journal(ctx, []string{"--no-pager", "-q", "-o", "json",
				"--output-fields=MESSAGE,_TRANSPORT,_AUDIT_TYPE,_AUDIT_ID,_SOURCE_REALTIME_TIMESTAMP", since, q.match}, func(line []byte) {
				// Only the lines that can matter are parsed.
				if bytes.Contains(line, []byte("1326")) || bytes.Contains(line, []byte("SECCOMP")) ||
					bytes.Contains(line, []byte("kauditd_printk_skb")) || bytes.Contains(line, []byte("audit_lost=")) {
					buf.Write(line)
					buf.WriteByte('\n')
				}
			})
			res, _ := auditlog.ScanJournal(&buf, "journal")
			var warn *journalWarning
			if errors.As(err, &warn) {
				add(q.name, res, nil, false)
				d := &r.Sources[len(r.Sources)-1]
				d.Detail = strings.TrimSpace(warn.Error() + " " + d.Detail)
				continue
			}
			add(q.name, res, err, errors.Is(err, exec.ErrNotFound))
		}
	}
	if m.Kmsg != "" {
		res, err := m.readKmsg()
		add(m.Kmsg, res, err, errors.Is(err, fs.ErrNotExist))
	}
	for _, name := range logs {
		res, err := readFile(name, m.kernelClock())
		add(name, res, err, false)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, losses
}

// auditLogPath is auditd's log_file, or the default.
func (m *Machine) auditLogPath() string {
	if m.AuditdConf != "" {
		if b, err := os.ReadFile(m.AuditdConf); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				k, v, ok := strings.Cut(line, "=")
				if ok && strings.TrimSpace(k) == "log_file" && strings.TrimSpace(v) != "" {
					return strings.TrimSpace(v)
				}
			}
		}
	}
	return m.AuditLog
}

// kernelClock turns kernel log time stamps into wall-clock times.
func (m *Machine) kernelClock() auditlog.Clock {
	if m.Clocks == nil {
		return nil
	}
	now := m.Now()
	mono, _ := m.Clocks()
	return func(d time.Duration) time.Time { return now.Add(d - mono) }
}

// readFile reads a file of records: journalctl -o json output when it
// starts with "{", else text.
func readFile(name string, clock auditlog.Clock) (*auditlog.Result, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(1)
	if len(head) == 1 && head[0] == '{' {
		return auditlog.ScanJournal(br, name)
	}
	return auditlog.ScanText(br, name, clock)
}

// readKmsg reads the kernel log from /dev/kmsg: every record it still
// holds, one per read, without waiting for new ones.
func (m *Machine) readKmsg() (*auditlog.Result, error) {
	var buf bytes.Buffer
	err := readRecords(m.Kmsg, func(rec []byte) {
		buf.Write(rec)
		if rec[len(rec)-1] != '\n' {
			buf.WriteByte('\n')
		}
	})
	if err != nil {
		return nil, err
	}
	return auditlog.ScanText(&buf, m.Kmsg, m.kernelClock())
}

// cores attaches core dumps to the events: those given, then those found.
func (m *Machine) cores(ctx context.Context, r *Report, st *unitState, given []string) {
	for _, name := range given {
		c, err := coredump.Open(name)
		if err != nil {
			r.Notes = append(r.Notes, err.Error())
			continue
		}
		if !c.Siginfo.Seccomp() && !(c.Siginfo == nil && c.Signal == coredump.SIGSYS) {
			r.Notes = append(r.Notes, fmt.Sprintf("core file %s: process %d was not killed by a seccomp filter (signal %d)", name, c.PID, c.Signal))
			continue
		}
		attached := false
		for _, ev := range r.Events {
			if ev.core == nil && ev.rec != nil && coreFits(c, ev.rec) {
				ev.core, ev.ArgsFrom, attached = c, name, true
				break
			}
		}
		if !attached {
			ev := eventOfCore(c, name)
			if st, err := os.Stat(name); err == nil {
				ev.Time = st.ModTime()
			}
			ev.MatchedBy = []string{"core_file"}
			r.Events = append(r.Events, ev)
		}
	}
	for _, ev := range r.Events {
		if ev.core != nil || ev.rec == nil || ev.rec.Sig != coredump.SIGSYS {
			continue
		}
		if c, from := m.findCore(ctx, nameOf(ev.rec), ev.rec.Time, st); c != nil && coreFits(c, ev.rec) {
			ev.core, ev.ArgsFrom = c, from
		}
	}
}

// eventOfCore makes an event of a core dump alone: its siginfo says the
// syscall, its registers the arguments.
func eventOfCore(c *coredump.Core, name string) *Event {
	ev := &Event{PID: c.PID, Comm: c.Comm, Signal: coredump.SIGSYS, ArgsFrom: name, Records: []RecordRef{}, core: c}
	if c.Siginfo.Seccomp() {
		nr := int64(c.Siginfo.Syscall)
		ev.SyscallNr = &nr
		ev.AuditArch = fmt.Sprintf("%#x", c.Siginfo.Arch)
		ev.IP = fmt.Sprintf("%#x", c.Siginfo.CallAddr)
		// si_errno holds the filter's SECCOMP_RET_DATA; the action is a
		// kill: only those dump core.
		ev.Code = fmt.Sprintf("%#x", policy.RetKillProcess|uint32(c.Siginfo.Errno)&policy.RetData)
		ev.call = Call{AuditArch: c.Siginfo.Arch, Nr: nr, Ret: policy.RetKillProcess}
		ev.haveCall = true
	} else if c.Regs != nil && c.Regs.Known && c.Arch != nil {
		nr := c.Regs.Nr
		ev.SyscallNr = &nr
		ev.AuditArch = fmt.Sprintf("%#x", c.Arch.Audit)
		ev.call = Call{AuditArch: c.Arch.Audit, Nr: nr, Ret: policy.RetKillProcess}
		ev.haveCall = true
	}
	return ev
}

// coreFits reports whether core c is the dump of the process and call of
// rec.
func coreFits(c *coredump.Core, rec *auditlog.Record) bool {
	if c.PID != rec.PID {
		return false
	}
	if c.Siginfo != nil {
		return c.Siginfo.Seccomp() && int64(c.Siginfo.Syscall) == rec.Syscall && c.Siginfo.Arch == rec.Arch
	}
	return c.Signal == coredump.SIGSYS && c.Arch != nil && c.Arch.Audit == rec.Arch && c.Regs != nil && c.Regs.Known && c.Regs.Nr == rec.Syscall
}

// CoreName is what core_pattern's specifiers stand for, for one
// process; an empty field is not known, and matches anything.
type CoreName struct {
	PID            int
	UID, GID, Comm string
	Exe            string
}

// nameOf is what a record says of its process.
func nameOf(rec *auditlog.Record) CoreName {
	return CoreName{PID: rec.PID, UID: strconv.FormatUint(uint64(rec.UID), 10), GID: strconv.FormatUint(uint64(rec.GID), 10),
		Comm: rec.Comm, Exe: rec.Exe}
}

// findCore looks for the core dump of a process killed by seccomp at
// about when: through coredumpctl, or where core_pattern puts core files.
// The core must be of the process (its PID) and of a seccomp kill; the
// caller checks that the call is the record's.
func (m *Machine) findCore(ctx context.Context, proc CoreName, when time.Time, st *unitState) (*coredump.Core, string) {
	pattern := ""
	if m.ProcSys != "" {
		if b, err := os.ReadFile(filepath.Join(m.ProcSys, "kernel", "core_pattern")); err == nil {
			pattern = strings.TrimRight(string(b), "\n")
		}
	}
	fits := func(c *coredump.Core) bool {
		return c.PID == proc.PID && (c.Siginfo.Seccomp() || (c.Siginfo == nil && c.Signal == coredump.SIGSYS))
	}
	if strings.HasPrefix(pattern, "|") {
		if m.Coredumpctl == "" {
			return nil, ""
		}
		return m.coredumpctl(ctx, proc.PID, when, fits)
	}
	if pattern == "" {
		return nil, ""
	}
	usesPID := false
	if b, err := os.ReadFile(filepath.Join(m.ProcSys, "kernel", "core_uses_pid")); err == nil {
		usesPID = strings.TrimSpace(string(b)) == "1"
	}
	cwd := st.workDir
	switch {
	case cwd == "~" || (cwd == "" && m.Scope == "user"):
		cwd = m.Home
	case cwd == "":
		cwd = "/"
	}
	names, _ := filepath.Glob(CoreGlob(pattern, usesPID, cwd, proc))
	for i, name := range names {
		if i >= 20 {
			break
		}
		fi, err := os.Stat(name)
		// A core written before the kill is another process's.
		if err != nil || !fi.Mode().IsRegular() || (!when.IsZero() && fi.ModTime().Before(when.Add(-2*time.Second))) {
			continue
		}
		if c, err := coredump.Open(name); err == nil && fits(c) {
			return c, name
		}
	}
	return nil, ""
}

// coredumpctl asks systemd-coredump for the core of process pid.
func (m *Machine) coredumpctl(ctx context.Context, pid int, when time.Time, fits func(*coredump.Core) bool) (*coredump.Core, string) {
	tmp, err := os.CreateTemp("", "fencer-why-core-*")
	if err != nil {
		return nil, ""
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args := []string{"--no-pager", "-q"}
	if !when.IsZero() {
		args = append(args, "--since=@"+strconv.FormatInt(when.Add(-time.Minute).Unix(), 10))
	}
	cmd := exec.CommandContext(ctx, m.Coredumpctl, append(args, "dump", "--output="+tmp.Name(), strconv.Itoa(pid))...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		return nil, ""
	}
	c, err := coredump.Open(tmp.Name())
	if err != nil || !fits(c) {
		return nil, ""
	}
	return c, fmt.Sprintf("coredumpctl dump %d", pid)
}

// CoreGlob turns core_pattern into a glob for the core file of a process
// whose working directory was cwd: the specifiers proc determines (%p %P
// %u %g %e %E %f, and %s %h %%) are filled in, the others (and those of
// fields proc leaves empty) match anything. usesPID is
// /proc/sys/kernel/core_uses_pid: ".PID" is appended to a pattern without
// %p.
func CoreGlob(pattern string, usesPID bool, cwd string, proc CoreName) string {
	var b strings.Builder
	hasPID := false
	lit := func(s string) { b.WriteString(globEscape(s)) }
	known := func(s string) {
		if s == "" {
			b.WriteString("*")
		} else {
			lit(s)
		}
	}
	for i := 0; i < len(pattern); i++ {
		ch := pattern[i]
		if ch != '%' || i+1 >= len(pattern) {
			lit(string(ch))
			continue
		}
		i++
		switch pattern[i] {
		case '%':
			lit("%")
		case 'p', 'P':
			hasPID = true
			lit(strconv.Itoa(proc.PID))
		case 'u':
			known(proc.UID)
		case 'g':
			known(proc.GID)
		case 's':
			lit(strconv.Itoa(coredump.SIGSYS))
		case 'e':
			known(strings.ReplaceAll(proc.Comm, "/", "!"))
		case 'E':
			known(strings.ReplaceAll(proc.Exe, "/", "!"))
		case 'f':
			if proc.Exe == "" {
				b.WriteString("*")
			} else {
				lit(filepath.Base(proc.Exe))
			}
		case 'h':
			host, _ := os.Hostname()
			lit(host)
		default:
			// %t (time), %i %I (thread), %c (limit), %d (dump mode),
			// %C and what later kernels add.
			b.WriteString("*")
		}
	}
	if usesPID && !hasPID {
		lit("." + strconv.Itoa(proc.PID))
	}
	out := b.String()
	if !strings.HasPrefix(pattern, "/") {
		out = filepath.Join(globEscape(cwd), out)
	}
	return out
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
