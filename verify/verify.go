// Package verify checks a host against its plan: that every file fencer
// manages is there with the planned content and nothing overrides it, that
// systemd's effective settings for each unit are the planned ones, and
// that each running unit's process carries the planned filter.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/procseccomp"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// Finding is one difference between a host and its plan.
type Finding struct {
	// Unit is the unit concerned, "" for the host as a whole.
	Unit string `json:"unit,omitempty"`
	// Kind is "file", "setting" or "process".
	Kind string `json:"kind"`
	// Subject is the file's path, the setting's name or "MainPID N".
	Subject string `json:"subject"`
	// Problem says what differs, in words.
	Problem string `json:"problem"`
	Want    string `json:"want,omitempty"`
	Got     string `json:"got,omitempty"`
	// Restart is set when restarting the unit resolves the finding: the
	// files are as planned, the process was started before they were.
	// Its Problem then begins with "restart needed: ".
	Restart bool `json:"restart_needed,omitempty"`
}

// restartNeeded begins the Problem of a finding a restart resolves.
const restartNeeded = "restart needed: "

// Note is something checked that a person may want to know and that is
// not drift: how a process was checked, a unit that is not running.
type Note struct {
	Unit string `json:"unit,omitempty"`
	Text string `json:"text"`
}

// HostReport is the verdict on one host.
type HostReport struct {
	Host     string    `json:"host"`
	Findings []Finding `json:"findings"`
	Notes    []Note    `json:"notes"`
	// Error is set when the host could not be checked.
	Error string `json:"error,omitempty"`
}

// InSync reports whether the host matched its plan.
func (r *HostReport) InSync() bool { return r.Error == "" && len(r.Findings) == 0 }

// Host checks one host against its part of a plan made for verification
// (a plan whose changes are all no-ops when the host is in sync).
func Host(ctx context.Context, t host.Target, hp *plan.HostPlan) *HostReport {
	// Empty lists, not null, in JSON.
	r := &HostReport{Host: hp.Name, Findings: []Finding{}, Notes: []Note{}}
	if hp.Error != "" {
		r.Error = hp.Error
		return r
	}
	files := map[string]*plan.Change{}
	for _, ch := range hp.Changes {
		files[ch.Path] = ch
		if f, ok := fileFinding(ch); ok {
			r.Findings = append(r.Findings, f)
		}
	}
	facts, err := t.Facts(ctx)
	if err != nil {
		r.Error = fmt.Sprintf("reading facts: %v", err)
		return r
	}
	implicit := facts.SystemdDefault()
	for _, s := range hp.Services {
		for _, o := range s.Overrides {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "file", Subject: o.Path, Problem: o.Problem()})
		}
		if !facts.Live {
			r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: "no systemd manager runs for this host: only files were checked"})
			continue
		}
		checkUnit(ctx, t, hp, s, files, implicit, r)
	}
	for i := range r.Findings {
		r.Findings[i].Restart = strings.HasPrefix(r.Findings[i].Problem, restartNeeded)
	}
	return r
}

// Restarts returns the running units of a fresh plan whose files the plan
// leaves as they are, but whose process does not run as planned and would
// after a restart (it was applied without -restart): verify's restart
// findings for those units. Units with changed files are left out: apply
// -restart restarts them anyway. A host without a manager has none.
func Restarts(ctx context.Context, t host.Target, hp *plan.HostPlan) []plan.Restart {
	if hp.Error != "" {
		return nil
	}
	changed := map[string]bool{}
	for _, ch := range hp.Changes {
		if ch.Action != plan.NoOp {
			for _, u := range ch.Units {
				changed[u] = true
			}
		}
	}
	steady := *hp
	steady.Services = nil
	for _, s := range hp.Services {
		if !changed[s.Unit] {
			steady.Services = append(steady.Services, s)
		}
	}
	var out []plan.Restart
	seen := map[string]bool{}
	for _, f := range Host(ctx, t, &steady).Findings {
		if f.Restart && !changed[f.Unit] && !seen[f.Unit] {
			seen[f.Unit] = true
			out = append(out, plan.Restart{Unit: f.Unit, Reason: f.Problem})
		}
	}
	return out
}

// fileFinding says how a planned file differs on the host.
func fileFinding(ch *plan.Change) (Finding, bool) {
	f := Finding{Kind: "file", Subject: ch.Path}
	if len(ch.Units) > 0 {
		f.Unit = ch.Units[0]
	}
	if ch.Role == plan.RoleOriginal {
		// Where a take-over would keep the file it replaces: the
		// replaced file is the finding.
		return f, false
	}
	switch ch.Action {
	case plan.NoOp:
		return f, false
	case plan.Create:
		f.Problem = fmt.Sprintf("the %s is missing", ch.Role)
	case plan.Update:
		switch {
		case ch.Binary:
			f.Problem = fmt.Sprintf("the %s was replaced", ch.Role)
			f.Want, f.Got = "sha256 "+ch.NewSHA256, "sha256 "+ch.PriorSHA256
		case ch.TakeOver && ch.Owner != "", !unittext.Managed([]byte(ch.Prior)):
			f.Problem = fmt.Sprintf("the %s %s", ch.Role, unittext.Whose(ch.Owner))
		case !unittext.BodyIntact([]byte(ch.Prior)):
			f.Problem = fmt.Sprintf("the %s was edited by hand", ch.Role)
		default:
			f.Problem = fmt.Sprintf("the %s differs from the plan (the configuration or the host changed since it was applied)", ch.Role)
		}
		if !ch.Binary {
			f.Want, f.Got = firstDifference(ch.Prior, string(ch.Content))
		}
	case plan.Delete:
		f.Problem = fmt.Sprintf("the %s should not be there", ch.Role)
	}
	return f, true
}

// firstDifference returns the first line that differs between the planned
// and the found text, each with its line number. Fencer's header line is
// passed over when both files have one and something below it differs: it
// holds the hash of the rest, so it differs whenever anything below does,
// and says nothing of what.
func firstDifference(got, want string) (string, string) {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	start := 0
	if strings.HasPrefix(g[0], unittext.HeaderPrefix) && strings.HasPrefix(w[0], unittext.HeaderPrefix) &&
		strings.Join(g[1:], "\n") != strings.Join(w[1:], "\n") {
		start = 1
	}
	for i := start; i < len(g) || i < len(w); i++ {
		gl, wl := "(end of file)", "(end of file)"
		if i < len(g) {
			gl = fmt.Sprintf("%q", g[i])
		}
		if i < len(w) {
			wl = fmt.Sprintf("%q", w[i])
		}
		if gl != wl {
			return fmt.Sprintf("line %d: %s", i+1, wl), fmt.Sprintf("line %d: %s", i+1, gl)
		}
	}
	return "", ""
}

// show reads properties of a unit with systemctl show.
func show(ctx context.Context, t host.Target, unit string, props ...string) (map[string]string, error) {
	args := []string{"show"}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	out, err := t.Systemctl(ctx, append(args, "--", unit)...)
	if err != nil {
		return nil, fmt.Errorf("systemctl show %s: %w", unit, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			// A list of commands comes one line each (ExecStart=
			// with two commands): keep them all.
			if prev, seen := m[k]; seen {
				v = prev + "\n" + v
			}
			m[k] = v
		}
	}
	return m, nil
}

// checkUnit compares systemd's view of the unit with the plan, and the
// running process with the planned filter.
func checkUnit(ctx context.Context, t host.Target, hp *plan.HostPlan, s *plan.ServicePlan, files map[string]*plan.Change, implicit []string, r *HostReport) {
	props, err := show(ctx, t, s.Unit, "SystemCallFilter", "SystemCallArchitectures", "NoNewPrivileges",
		"SystemCallErrorNumber", "SystemCallLog", "ExecStart", "ActiveState", "MainPID", "LoadState",
		"Names", "FragmentPath", "DropInPaths", "NeedDaemonReload")
	if err != nil {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "systemctl show", Problem: err.Error()})
		return
	}
	if props["LoadState"] != "loaded" {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "LoadState",
			Problem: "systemd has not loaded the unit", Want: "loaded", Got: props["LoadState"]})
		return
	}
	setting := func(name, want, got, problem string) {
		if want != got {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: name, Problem: problem, Want: want, Got: got})
		}
	}
	checkFiles(s, props, r)
	checkLoaded(ctx, t, s, files, props, r)
	setting("NoNewPrivileges", "yes", props["NoNewPrivileges"], "no_new_privs is not set for the service")
	setting("SystemCallArchitectures", "native", props["SystemCallArchitectures"], "system calls of other architectures are not refused")
	if s.SystemdFilter {
		if want, got, ok := sameFilter(hp.Arch, s.SystemCallFilter, props["SystemCallFilter"], withoutDenied(implicit, s.SystemCallFilterDenied)); !ok {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "SystemCallFilter",
				Problem: "systemd's syscall filter is not the planned set", Want: want, Got: got})
		}
	}
	if s.SystemdFilter {
		if got := props["SystemCallErrorNumber"]; !sameErrno(s.SystemCallErrorNumber, got) {
			want := s.SystemCallErrorNumber
			if want == "" {
				want = "(none: kill the process)"
			}
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "SystemCallErrorNumber",
				Problem: "systemd's action for the syscalls its filter does not allow is not the planned one", Want: want, Got: got})
		}
	}
	if s.Enforce == "systemd" {
		// systemctl show says "~" (an empty deny-list) for none.
		want, got := strings.Join(s.SystemCallLog, " "), strings.Join(strings.Fields(strings.TrimPrefix(props["SystemCallLog"], "~")), " ")
		if strings.HasPrefix(props["SystemCallLog"], "~") && got != "" {
			got = props["SystemCallLog"]
		}
		if want != got {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "SystemCallLog",
				Problem: "systemd does not log the syscalls the policy logs, or logs others", Want: want, Got: got})
		}
	}
	startsLoader := false
	if s.WrappedStart != "" {
		want, got, ok := sameExecStart(s.WrappedStart, props["ExecStart"])
		if !ok {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "ExecStart",
				Problem: execStartProblem(s.WrappedStart, got), Want: want, Got: got})
		}
		startsLoader = ok
	}
	if props["ActiveState"] != "active" && props["ActiveState"] != "reloading" {
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("not running (%s): no process to check", props["ActiveState"])})
		return
	}
	pid, _ := strconv.Atoi(props["MainPID"])
	if pid <= 0 {
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: "active without a main process: no process to check"})
		return
	}
	if s.Enforce == "systemd" {
		checkSystemdProcess(ctx, t, s, pid, dropInOf(files, s.Unit), props, r)
		return
	}
	checkProcess(ctx, t, hp.Arch, s, pid, files[s.FilterPath], props, startsLoader, r)
}

// dropInOf returns the path of fencer's drop-in for unit among the
// planned files.
func dropInOf(files map[string]*plan.Change, unit string) string {
	for p, ch := range files {
		if ch.Role == plan.RoleDropIn && len(ch.Units) > 0 && ch.Units[0] == unit {
			return p
		}
	}
	return ""
}

// filtered reads the status of the service's main process pid, and
// reports a process it cannot read or that runs without a seccomp filter
// (with hint, after the problem); ok is false then.
func filtered(ctx context.Context, t host.Target, s *plan.ServicePlan, pid int, hint string, r *HostReport) (st procseccomp.Status, ok bool) {
	subject := fmt.Sprintf("MainPID %d", pid)
	st, err := t.Status(ctx, pid)
	if err != nil {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: fmt.Sprintf("cannot read its status: %v", err)})
		return st, false
	}
	if st.Mode != procseccomp.ModeFilter {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
			Problem: "the process runs without any seccomp filter" + hint, Want: "Seccomp: 2", Got: fmt.Sprintf("Seccomp: %d", st.Mode)})
		return st, false
	}
	return st, true
}

// checkSystemdProcess checks the main process of a unit whose policy
// systemd alone enforces (enforce = "systemd"). systemd compiles
// SystemCallFilter= into filters of its own, which nothing planned can be
// compared with instruction by instruction, and applies the settings it
// has loaded when it starts the process, for the process's life. So the
// process carries the planned names if systemd started it under the
// unit's current settings, which checkUnit compared with the plan: its
// ExecStart= record names this process (systemd started it since it last
// loaded the unit), or the process started after fencer's drop-in was
// last written (apply reloads systemd right after writing it). A process
// that started before runs under the settings it was started with.
func checkSystemdProcess(ctx context.Context, t host.Target, s *plan.ServicePlan, pid int, dropIn string, props map[string]string, r *HostReport) {
	subject := fmt.Sprintf("MainPID %d", pid)
	if _, ok := filtered(ctx, t, s, pid, "", r); !ok {
		return
	}
	started, mtime, before := startedBefore(ctx, t, pid, dropIn)
	if before {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
			Problem: fmt.Sprintf(restartNeeded+"the process started at %s, before fencer's drop-in (its SystemCallFilter=) was written at %s, and runs under the settings it was started with", started.Format(time.RFC3339), mtime.Format(time.RFC3339))})
		return
	}
	// The program systemd executes (the path it found for a plain name).
	cmds := parseExecCommands(props["ExecStart"])
	program := ""
	if len(cmds) == 1 {
		program = cmds[0].path
	}
	switch {
	case len(cmds) == 1 && cmds[0].pid == pid:
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s runs under systemd's current SystemCallFilter=: systemd started it since it last loaded the unit (its ExecStart= record: pid %d, started %s)", subject, pid, cmds[0].started)})
		checkProgram(ctx, s, program, pid, subject, t, r)
		return
	case !started.IsZero() && !mtime.IsZero():
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s runs under systemd's current SystemCallFilter=: it started at %s, after fencer's drop-in was written at %s", subject, started.Format(time.RFC3339), mtime.Format(time.RFC3339))})
		checkProgram(ctx, s, program, pid, subject, t, r)
		return
	}
	r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
		Problem: "cannot prove that the process runs under the planned SystemCallFilter=: neither its start time nor systemd's record of it can be compared with fencer's drop-in; restart the unit"})
}

// notReloaded is the problem of a unit whose files changed since systemd
// loaded them.
const notReloaded = "systemd has not loaded the unit's files as they are now (they changed since its last daemon-reload), so it runs the unit with settings fencer did not check: run systemctl daemon-reload"

// checkLoaded reports the service's unit, and fencer's socket unit for
// it, when systemd says its files changed since it loaded them
// (NeedDaemonReload=yes): verify reads the files as they are now, and
// compares systemd's loaded unit with them by the names of its files,
// which a changed content leaves the same. props are the service's.
func checkLoaded(ctx context.Context, t host.Target, s *plan.ServicePlan, files map[string]*plan.Change, props map[string]string, r *HostReport) {
	if props["NeedDaemonReload"] == "yes" {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "NeedDaemonReload", Problem: notReloaded, Want: "no", Got: "yes"})
	}
	socket := unittext.SocketUnit(s.Unit)
	owned := false
	for _, ch := range files {
		owned = owned || ch.Role == plan.RoleSocket && len(ch.Units) == 1 && ch.Units[0] == socket
	}
	if !owned {
		return
	}
	sp, err := show(ctx, t, socket, "NeedDaemonReload")
	switch {
	case err != nil:
		r.Findings = append(r.Findings, Finding{Unit: socket, Kind: "setting", Subject: "systemctl show", Problem: err.Error()})
	case sp["NeedDaemonReload"] == "yes":
		r.Findings = append(r.Findings, Finding{Unit: socket, Kind: "setting", Subject: "NeedDaemonReload", Problem: notReloaded, Want: "no", Got: "yes"})
	}
}

// checkFiles compares the names systemd knows the unit by, its unit file
// and its drop-ins (systemctl show's Names=, FragmentPath=, DropInPaths=)
// with what fencer found in the unit directories and planned with: a
// difference means systemd applies files fencer did not check. Drop-ins
// are compared by file name, in order: systemd shows each in its drop-in
// directory with links resolved.
func checkFiles(s *plan.ServicePlan, props map[string]string, r *HostReport) {
	if len(s.Names) == 0 {
		return // a plan that read no unit
	}
	stale := ""
	if props["NeedDaemonReload"] == "yes" {
		stale = " (systemd has not reloaded the unit's changed files: systemctl daemon-reload)"
	}
	names := strings.Fields(props["Names"])
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(s.Names, " ") {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "Names",
			Problem: "systemd knows the unit by other names than fencer found in the unit directories, so it may apply drop-ins fencer did not check" + stale,
			Want:    strings.Join(s.Names, " "), Got: strings.Join(names, " ")})
	}
	if props["FragmentPath"] != s.FragmentPath {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "FragmentPath",
			Problem: "systemd reads another unit file for the unit than fencer planned with" + stale,
			Want:    s.FragmentPath, Got: props["FragmentPath"]})
	}
	base := func(ps []string) string {
		var out []string
		for _, p := range ps {
			out = append(out, path.Base(p))
		}
		return strings.Join(out, " ")
	}
	if got := strings.Fields(props["DropInPaths"]); base(got) != base(s.DropIns) {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "setting", Subject: "DropInPaths",
			Problem: "systemd applies other drop-ins to the unit than fencer planned with" + stale,
			Want:    strings.Join(s.DropIns, " "), Got: strings.Join(got, " ")})
	}
}

// checkProcess checks that the unit's main process carries the planned
// filter. The proof is the filter itself, read back with ptrace and
// compared instruction by instruction; where the kernel will not return it
// (see unreadable), only evidence the service cannot forge counts, and
// without it the process is reported as not proven, never as in sync.
// props are systemctl show's properties of the unit, read before the
// process; startsLoader says that systemd now starts the unit through the
// loader with the planned filter.
func checkProcess(ctx context.Context, t host.Target, archName string, s *plan.ServicePlan, pid int, filterFile *plan.Change, props map[string]string, startsLoader bool, r *HostReport) {
	subject := fmt.Sprintf("MainPID %d", pid)
	st, ok := filtered(ctx, t, s, pid, " (started outside the loader?)", r)
	if !ok {
		return
	}
	var planned bpf.Program
	if filterFile != nil {
		a, ok := arch.Lookup(archName)
		if ok {
			planned, _ = bpf.Decode(filterFile.Content, a.Order)
		}
	}
	if planned == nil || s.Enforce != "exec" {
		return
	}
	want := fmt.Sprintf("the planned filter (%d instructions, sha256 %s)", len(planned), plan.ShortHash(s.FilterSHA256))
	progs, err := t.Filters(ctx, pid)
	if err != nil {
		if errors.Is(err, syscall.ESRCH) {
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: fmt.Sprintf("cannot read its filters: %v", err)})
			return
		}
		unreadable(ctx, t, s, pid, subject, st, want, props, startsLoader, err, r)
		return
	}
	for _, p := range progs {
		if _, equal := procseccomp.Compare(p, planned); equal {
			r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s carries the planned filter (%d instructions, read back with ptrace)", subject, len(planned))})
			checkProgram(ctx, s, plannedProgram(s.WrappedStart), pid, subject, t, r)
			return
		}
	}
	f := Finding{Unit: s.Unit, Kind: "process", Subject: subject, Want: want}
	f.Got = fmt.Sprintf("%d filter(s), none of them the planned one", len(progs))
	started, mtime, before := startedBefore(ctx, t, pid, s.FilterPath)
	switch {
	case before:
		f.Problem = fmt.Sprintf(restartNeeded+"the process started at %s, before the filter was installed at %s", started.Format(time.RFC3339), mtime.Format(time.RFC3339))
	case startsLoader:
		f.Problem = restartNeeded + "the process does not carry the planned filter, which systemd's ExecStart= now installs (the process was started otherwise)"
	default:
		f.Problem = "the process does not carry the planned filter: it was not started through the loader with it"
	}
	r.Findings = append(r.Findings, f)
}

// unreadable judges a process whose filters the kernel would not return:
// something else traces it already (a debugger, strace, or a helper the
// service arranged), verify lacks CAP_SYS_ADMIN or runs under seccomp
// itself, or the kernel cannot return filters; readErr says which.
//
// Nothing the process can change counts as proof: not its command line,
// name or environment, and not filters it may have installed itself. The
// kernel's count of filters only ever grows, so it can prove a filter
// missing, never one present. In order:
//
//  1. A process that started before the filter file was last written
//     needs a restart.
//  2. A process with fewer filters (the kernel's Seccomp_filters) than
//     systemd installs for the unit's effective SystemCallArchitectures=
//     and SystemCallFilter=, plus the loader's, lacks the loader's.
//  3. systemd's own record, which the service cannot write, proves it:
//     systemd started this very process (ExecStart='s pid, which is the
//     MainPID) as the loader with the planned filter's path and hash; the
//     loader is this fencer's binary, and its inode has not changed since
//     before the process started (ctime, which only the kernel sets: a
//     loader replaced by one that installs nothing, and put back since,
//     does not pass); and the process no longer runs the loader
//     (/proc/PID/exe). The loader executes the service only after it has
//     installed the filter whose hash it checked, and a failed
//     installation ends the process. systemd forgets which process it
//     started for a command when it reloads its units (daemon-reload), so
//     this proof holds from a start until the next reload.
//  4. Otherwise the process is not proven to carry the filter: a finding,
//     which makes verify exit 2.
func unreadable(ctx context.Context, t host.Target, s *plan.ServicePlan, pid int, subject string, st procseccomp.Status, want string, props map[string]string, startsLoader bool, readErr error, r *HostReport) {
	finding := func(problem, want, got string) {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: problem, Want: want, Got: got})
	}
	restart := ""
	if startsLoader {
		restart = restartNeeded
	}
	if started, mtime, before := startedBefore(ctx, t, pid, s.FilterPath); before {
		finding(fmt.Sprintf(restartNeeded+"the process started at %s, before the filter was installed at %s", started.Format(time.RFC3339), mtime.Format(time.RFC3339)), "", "")
		return
	}
	floor, why := systemdFilters(props)
	if st.Filters >= 0 && st.Filters < floor+1 {
		finding(fmt.Sprintf("%sthe process does not carry the planned filter: the kernel counts %d seccomp filter(s) on it, and a start through the loader gives at least %d (%s, and the loader's); its filters could not be read back (%v)",
			restart, st.Filters, floor+1, why, readErr),
			fmt.Sprintf("%s, among at least %d seccomp filters", want, floor+1), fmt.Sprintf("%d seccomp filter(s)", st.Filters))
		return
	}
	proof, notLoader, reason := managerProof(ctx, t, s, pid, props)
	if notLoader != "" {
		finding(fmt.Sprintf("%sthe process was not started through the loader with the planned filter: systemd's record of this process is ExecStart=%s; its filters could not be read back (%v)", restart, notLoader, readErr), want, "")
		return
	}
	if proof != "" {
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s carries the planned filter: %s; its filters could not be read back (%v)", subject, proof, readErr)})
		checkProgram(ctx, s, plannedProgram(s.WrappedStart), pid, subject, t, r)
		return
	}
	got := "seccomp filters that could not be read back"
	if st.Filters >= 0 {
		got = fmt.Sprintf("%d seccomp filter(s) that could not be read back", st.Filters)
	}
	finding(fmt.Sprintf("cannot prove that the process carries the planned filter: its filters could not be read back (%v), and %s; verify again once nothing else traces it, as root, or restart the unit (systemd then records starting it through the loader)", readErr, reason), want, got)
}

// systemdFilters returns the fewest seccomp filters systemd installs on
// the unit's processes for the settings systemctl show reports (props),
// and the settings that account for them: one for
// SystemCallArchitectures=, one at least for SystemCallFilter= (one per
// architecture it filters). Other settings (MemoryDenyWriteExecute=,
// RestrictNamespaces=, ...) add more, as many as systemd's version and the
// machine's architectures make, so they are left out: this is a floor,
// which a process carrying fewer filters cannot have gone through.
func systemdFilters(props map[string]string) (int, string) {
	n := 0
	var settings []string
	if strings.TrimSpace(props["SystemCallArchitectures"]) != "" {
		n++
		settings = append(settings, "SystemCallArchitectures=")
	}
	if strings.TrimSpace(strings.TrimPrefix(props["SystemCallFilter"], "~")) != "" {
		n++
		settings = append(settings, "SystemCallFilter=")
	}
	if n == 0 {
		return 0, "systemd installs none for this unit's settings"
	}
	return n, fmt.Sprintf("%d of systemd's for %s", n, strings.Join(settings, " and "))
}

// managerProof looks for proof in systemd's record of the unit (see
// unreadable, 3): proof says what proved it; notLoader is systemd's record
// of the command it started this process with when that is not the
// planned one; reason says why there is no proof otherwise.
func managerProof(ctx context.Context, t host.Target, s *plan.ServicePlan, pid int, props map[string]string) (proof, notLoader, reason string) {
	cmds := parseExecCommands(props["ExecStart"])
	if len(cmds) != 1 {
		return "", "", fmt.Sprintf("systemd shows %d ExecStart= commands, not one", len(cmds))
	}
	c := cmds[0]
	switch {
	case c.pid == 0:
		return "", "", "systemd no longer records which process it started for ExecStart= (it forgets on every daemon-reload)"
	case c.pid != pid:
		return "", "", fmt.Sprintf("systemd's ExecStart= record is of pid %d, not of this process", c.pid)
	}
	if _, _, ok := sameExecStart(s.WrappedStart, props["ExecStart"]); !ok {
		return "", c.argv, ""
	}
	exe, err := t.Exe(ctx, pid)
	if err != nil {
		return "", "", fmt.Sprintf("systemd started it through the loader, but whether it still runs the loader is unknown: %v", err)
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	loader, err := resolveExec(ctx, t, c.path)
	if err != nil {
		return "", "", fmt.Sprintf("systemd started it through the loader, but the loader %s cannot be resolved: %v", c.path, err)
	}
	if exe == loader.binary() {
		return "", "", fmt.Sprintf("systemd started it through the loader, and it still runs the loader (%s)", exe)
	}
	// The loader it ran must be fencer: this fencer's binary, unchanged
	// since before the process started (a file replaced by a loader that
	// installs nothing, and put back since, has a later ctime).
	sum, changed, err := t.FileSum(ctx, loader.binary())
	if err != nil {
		return "", "", fmt.Sprintf("systemd started it through the loader, but the loader cannot be checked: %v", err)
	}
	if want, err := t.Fencer(ctx); err != nil || sum != want {
		return "", "", fmt.Sprintf("systemd started it through the loader %s, which is not this fencer (sha256 %s), so what it installed is unknown", loader.binary(), plan.ShortHash(sum))
	}
	started, err := t.StartTime(ctx, pid)
	if err != nil || !changed.Before(started) {
		return "", "", fmt.Sprintf("systemd started it through the loader %s, which changed at %s, after the process started at %s, so what it ran then is unknown", loader.binary(), changed.Format(time.RFC3339Nano), started.Format(time.RFC3339Nano))
	}
	// The same process throughout: systemd reaps its main process, and
	// records its end, before the pid can be reused.
	after, err := show(ctx, t, s.Unit, "MainPID", "ExecStart")
	if err != nil {
		return "", "", fmt.Sprintf("systemd's record could not be read again: %v", err)
	}
	if after["MainPID"] != props["MainPID"] || after["ExecStart"] != props["ExecStart"] {
		return "", "", "the unit's process or systemd's record of it changed while it was checked"
	}
	return fmt.Sprintf("systemd started this process through the loader with the planned filter (its ExecStart= record: pid %d, started %s), and it has since executed %s", pid, c.started, exe), "", ""
}

// checkProgram compares the program the process runs with the one the
// unit now starts (name: the program after the loader's "--", or with
// enforce = "systemd" the one systemd executes): the same filter does not
// make the same service (an ExecStart= changed and restored without a
// restart). It compares what the kernel executes (resolveExec): /proc/PID/exe,
// which the process cannot change, with the file the planned path leads
// to through symbolic links and "#!" interpreters, and for a script the
// path the process was executed as (AT_EXECFN) with the planned one. A
// plain command name, which the loader looks up in PATH, is followed from
// the path the process was executed as.
func checkProgram(ctx context.Context, s *plan.ServicePlan, name string, pid int, subject string, procs host.Processes, r *HostReport) {
	if name == "" {
		return
	}
	note := func(format string, args ...any) {
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf(format, args...)})
	}
	finding := func(problem, want, got string) {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: problem, Want: want, Got: got})
	}
	exe, err := procs.Exe(ctx, pid)
	if err != nil {
		note("%s: %v", subject, err)
		return
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	given := name
	if !strings.HasPrefix(name, "/") {
		fn, err := procs.ExecFn(ctx, pid)
		if err != nil {
			note("%s: the loader looked %s up in PATH, and where it found it cannot be read: %v", subject, name, err)
			return
		}
		if !strings.HasPrefix(fn, "/") || path.Base(fn) != name {
			note("%s was executed as %q, not as the file named %s the loader looks up in PATH: the program was not compared", subject, fn, name)
			return
		}
		given = fn
	}
	e, err := resolveExec(ctx, procs, given)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNoExec) {
			finding(fmt.Sprintf("the program the unit starts cannot be executed: %v", err), given, exe)
		} else {
			note("%s: the program the unit starts could not be followed as execve would: %v", subject, err)
		}
		return
	}
	starts := e.String()
	if given != name {
		starts = fmt.Sprintf("%s, found in PATH as %s", name, starts)
	}
	if exe != e.binary() {
		problem := restartNeeded + "the process runs another program than the unit now starts"
		if given != name || !e.literal() {
			problem += " (the unit starts " + starts + ")"
		}
		finding(problem, e.binary(), exe)
		return
	}
	if e.script() && given == name {
		switch fn, err := procs.ExecFn(ctx, pid); {
		case err != nil:
			note("%s runs %s, the interpreter of the script %s; which script it runs could not be read: %v", subject, exe, given, err)
			return
		case fn != given:
			finding(restartNeeded+"the process runs another script than the unit now starts (the unit starts "+starts+"; the process's script is the file name it was executed as, AT_EXECFN)", given, fn)
			return
		}
	}
	if given != name || !e.literal() {
		note("%s runs the program the unit starts: %s", subject, starts)
	}
}

// plannedProgram is the program a wrapped ExecStart= makes the loader run:
// the word after "--".
func plannedProgram(wrapped string) string {
	cmds, err := unitfile.Split(wrapped)
	if err != nil || len(cmds) != 1 {
		return ""
	}
	argv := cmds[0].Argv
	for i, a := range argv {
		if a == "--" && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

// startedBefore reports whether the process started before the filter file
// was last written.
func startedBefore(ctx context.Context, t host.Target, pid int, filterPath string) (time.Time, time.Time, bool) {
	mtime, err := t.ModTime(ctx, filterPath)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	started, err := t.StartTime(ctx, pid)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	// The start time is precise to a clock tick (10ms), rounded down.
	return started, mtime, started.Add(10 * time.Millisecond).Before(mtime)
}

// sameFilter compares systemd's SystemCallFilter= with the planned names,
// allowing for the syscalls systemd adds to every allow-list (@default),
// and comparing names by number on the host's architecture (aliases).
func sameFilter(archName string, planned []string, got string, systemdDefault []string) (string, string, bool) {
	a, _ := arch.Lookup(archName)
	key := func(n string) string {
		if a != nil {
			if nr, ok := a.Syscall(n); ok {
				return strconv.Itoa(nr)
			}
		}
		return n
	}
	if strings.HasPrefix(got, "~") {
		return strings.Join(planned, " "), got, false
	}
	want := map[string]string{}
	for _, n := range planned {
		want[key(n)] = n
	}
	implicit := map[string]bool{}
	for _, n := range systemdDefault {
		implicit[key(n)] = true
	}
	have := map[string]string{}
	for _, n := range strings.Fields(got) {
		have[key(n)] = n
	}
	var missing, extra []string
	for k, n := range want {
		if _, ok := have[k]; !ok {
			missing = append(missing, n)
		}
	}
	for k, n := range have {
		if _, ok := want[k]; !ok && !implicit[k] {
			extra = append(extra, n)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return "", "", true
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var g []string
	if len(extra) > 0 {
		g = append(g, "also "+strings.Join(extra, " "))
	}
	if len(missing) > 0 {
		g = append(g, "without "+strings.Join(missing, " "))
	}
	return fmt.Sprintf("the %d planned names (and systemd's @default set)", len(want)), strings.Join(g, "; "), false
}

// sameErrno compares the planned SystemCallErrorNumber= (an errno number,
// "" for none) with systemctl show's: without one systemd kills the
// process, which systemd 252 shows as 2147483646 (its "kill" value) and
// older versions as 0.
func sameErrno(planned, got string) bool {
	if planned == "" {
		return got == "" || got == "0" || got == "2147483646" || got == "kill"
	}
	return planned == got
}

// withoutDenied returns the names of implicit (systemd's @default group)
// that the planned "~" entries denied do not take out of the allow-list.
func withoutDenied(implicit, denied []string) []string {
	out := make([]string, 0, len(implicit))
	gone := map[string]bool{}
	for _, d := range denied {
		name, _, _ := strings.Cut(d, ":")
		gone[name] = true
	}
	for _, n := range implicit {
		if !gone[n] {
			out = append(out, n)
		}
	}
	return out
}

// sameExecStart compares the planned wrapped command with systemctl show's
// ExecStart= ({ path=... ; argv[]=... ; ... }, one line per command).
func sameExecStart(planned, got string) (string, string, bool) {
	cmds, err := unitfile.Split(planned)
	if err != nil || len(cmds) != 1 {
		return planned, got, false
	}
	want := strings.Join(cmds[0].Argv, " ")
	var argvs []string
	for _, c := range parseExecCommands(got) {
		argvs = append(argvs, c.argv)
	}
	if len(argvs) == 1 && argvs[0] == want {
		return "", "", true
	}
	return want, strings.Join(argvs, " | "), false
}

// execCommand is one command of systemctl show's ExecStart=, with
// systemd's record of its last run.
type execCommand struct {
	// path is the file systemd executes; argv the arguments, as the
	// unit writes them (before systemd expands variables), joined by
	// spaces.
	path, argv string
	// pid is the process systemd started for the command, 0 when it has
	// not started it since it last loaded the unit.
	pid int
	// started is when, as systemctl shows it.
	started string
}

// parseExecCommands parses systemctl show's value of ExecStart=: one
// "{ path=P ; argv[]=A ; ignore_errors=no ; start_time=[T] ; stop_time=[T]
// ; pid=N ; code=C ; status=S }" per line. The arguments may themselves
// contain " ; ", so they run to the last " ; ignore_errors=".
func parseExecCommands(v string) []execCommand {
	var out []execCommand
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		body, ok := strings.CutPrefix(line, "{ path=")
		if !ok {
			continue
		}
		body = strings.TrimSuffix(body, " }")
		var c execCommand
		var rest string
		if c.path, rest, ok = strings.Cut(body, " ; argv[]="); !ok {
			continue
		}
		i := strings.LastIndex(rest, " ; ignore_errors=")
		if i < 0 {
			c.argv = rest
			out = append(out, c)
			continue
		}
		c.argv = rest[:i]
		for _, field := range strings.Split(rest[i+3:], " ; ") {
			k, val, _ := strings.Cut(field, "=")
			switch k {
			case "pid":
				c.pid, _ = strconv.Atoi(val)
			case "start_time":
				c.started = strings.TrimSuffix(strings.TrimPrefix(val, "["), "]")
			}
		}
		out = append(out, c)
	}
	return out
}

// execStartProblem says how the command systemd starts (got, as
// sameExecStart returns it) differs from the planned wrapped one: the
// loader with the planned filter starting another command (the unit's
// ExecStart= changed since apply), the loader with another filter, or no
// loader at all.
func execStartProblem(planned, got string) string {
	cmds, err := unitfile.Split(planned)
	if err != nil || len(cmds) != 1 {
		return "the service is not started through the loader with the planned filter"
	}
	argv := cmds[0].Argv
	for i, a := range argv {
		if a == "--" {
			if loader := strings.Join(argv[:i+1], " ") + " "; strings.HasPrefix(got, loader) {
				return "the loader starts another command than the planned one: the unit's ExecStart= (or the service's exec_start) changed since apply; apply again"
			}
			break
		}
	}
	if len(argv) > 1 && strings.HasPrefix(got, argv[0]+" "+argv[1]+" ") {
		return "the service is started through the loader, but not with the planned filter"
	}
	return "the service is not started through the loader with the planned filter"
}
