// Package verify checks a host against its plan: that every file fencer
// manages is there with the planned content and nothing overrides it, that
// systemd's effective settings for each unit are the planned ones, and
// that each running unit's process carries the planned filter.
package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/apply"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/procseccomp"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan"
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
}

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

// Inspector reads what a host's processes carry. The local machine reads
// /proc and ptrace; other transports bring their own.
type Inspector interface {
	Status(pid int) (procseccomp.Status, error)
	Filters(pid int) ([]bpf.Program, error)
	StartTime(pid int) (time.Time, error)
	// Exe is the path of the program the process runs.
	Exe(pid int) (string, error)
}

// Local inspects processes of this machine.
type Local struct{}

// Status reads /proc/PID/status.
func (Local) Status(pid int) (procseccomp.Status, error) { return procseccomp.ReadStatus(pid) }

// Filters reads the process's filters with ptrace, newest first.
func (Local) Filters(pid int) ([]bpf.Program, error) { return procseccomp.Filters(pid) }

// StartTime reads when the process started.
func (Local) StartTime(pid int) (time.Time, error) { return procseccomp.StartTime(pid) }

// Exe reads /proc/PID/exe.
func (Local) Exe(pid int) (string, error) {
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return "", fmt.Errorf("read the program of pid %d: %w", pid, err)
	}
	return p, nil
}

// Host checks one host against its part of a plan made for verification
// (a plan whose changes are all no-ops when the host is in sync).
func Host(ctx context.Context, t apply.Target, hp *plan.HostPlan, in Inspector) *HostReport {
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
			r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "file", Subject: o.Path, Problem: o.Problem})
		}
		if !facts.Live {
			r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: "no systemd manager runs for this host: only files were checked"})
			continue
		}
		checkUnit(ctx, t, hp, s, files, in, implicit, r)
	}
	return r
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
		case ch.TakeOver && ch.Owner != "":
			f.Problem = fmt.Sprintf("the %s belongs to configuration %q", ch.Role, ch.Owner)
		case !plan.Managed([]byte(ch.Prior)):
			f.Problem = fmt.Sprintf("the %s is not fencer's: it has no fencer header", ch.Role)
		case !plan.BodyIntact([]byte(ch.Prior)):
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
	if strings.HasPrefix(g[0], plan.HeaderPrefix) && strings.HasPrefix(w[0], plan.HeaderPrefix) &&
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
func show(ctx context.Context, t apply.Target, unit string, props ...string) (map[string]string, error) {
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
			m[k] = v
		}
	}
	return m, nil
}

// checkUnit compares systemd's view of the unit with the plan, and the
// running process with the planned filter.
func checkUnit(ctx context.Context, t apply.Target, hp *plan.HostPlan, s *plan.ServicePlan, files map[string]*plan.Change, in Inspector, implicit []string, r *HostReport) {
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
	checkProcess(ctx, t, hp.Arch, s, pid, files[s.FilterPath], startsLoader, in, r)
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
// filter: read back with ptrace where permitted, else judged by whether it
// started after the filter file was written. startsLoader says that
// systemd now starts the unit through the loader with the planned filter.
func checkProcess(ctx context.Context, t apply.Target, archName string, s *plan.ServicePlan, pid int, filterFile *plan.Change, startsLoader bool, in Inspector, r *HostReport) {
	subject := fmt.Sprintf("MainPID %d", pid)
	st, err := in.Status(pid)
	if err != nil {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: fmt.Sprintf("cannot read its status: %v", err)})
		return
	}
	if st.Mode != procseccomp.ModeFilter {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
			Problem: "the process runs without any seccomp filter (started outside the loader?)", Want: "Seccomp: 2", Got: fmt.Sprintf("Seccomp: %d", st.Mode)})
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
	progs, err := in.Filters(pid)
	if err == nil {
		for _, p := range progs {
			if _, equal := procseccomp.Compare(p, planned); equal {
				r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s carries the planned filter (%d instructions, read back with ptrace)", subject, len(planned))})
				checkProgram(s, pid, subject, in, r)
				return
			}
		}
		f := Finding{Unit: s.Unit, Kind: "process", Subject: subject, Want: fmt.Sprintf("the planned filter (%d instructions, sha256 %s)", len(planned), short(s.FilterSHA256))}
		f.Got = fmt.Sprintf("%d filter(s), none of them the planned one", len(progs))
		started, mtime, before := startedBefore(ctx, t, in, pid, s.FilterPath)
		switch {
		case before:
			f.Problem = fmt.Sprintf("restart needed: the process started at %s, before the filter was installed at %s", started.Format(time.RFC3339), mtime.Format(time.RFC3339))
		case startsLoader:
			f.Problem = "restart needed: the process does not carry the planned filter, which systemd's ExecStart= now installs (the process was started otherwise)"
		default:
			f.Problem = "the process does not carry the planned filter: it was not started through the loader with it"
		}
		r.Findings = append(r.Findings, f)
		return
	}
	if !errors.Is(err, procseccomp.ErrNotPermitted) && !errors.Is(err, procseccomp.ErrUnsupported) {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject, Problem: fmt.Sprintf("cannot read its filters: %v", err)})
		return
	}
	started, mtime, ok := startedBefore(ctx, t, in, pid, s.FilterPath)
	switch {
	case ok:
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
			Problem: fmt.Sprintf("restart needed: the process started at %s, before the filter was installed at %s", started.Format(time.RFC3339), mtime.Format(time.RFC3339))})
	default:
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s has a seccomp filter and started after the filter file was written; its program could not be read back (%v)", subject, err)})
	}
}

// checkProgram compares the program the process runs with the one the
// unit now starts through the loader: the same filter does not make the
// same service (an ExecStart= changed and restored without a restart).
func checkProgram(s *plan.ServicePlan, pid int, subject string, in Inspector, r *HostReport) {
	want := plannedProgram(s.WrappedStart)
	if !strings.HasPrefix(want, "/") {
		return // a plain name: systemd resolves it
	}
	got, err := in.Exe(pid)
	if err != nil {
		r.Notes = append(r.Notes, Note{Unit: s.Unit, Text: fmt.Sprintf("%s: %v", subject, err)})
		return
	}
	got = strings.TrimSuffix(got, " (deleted)")
	if got != want {
		r.Findings = append(r.Findings, Finding{Unit: s.Unit, Kind: "process", Subject: subject,
			Problem: "restart needed: the process runs another program than the unit now starts", Want: want, Got: got})
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
func startedBefore(ctx context.Context, t apply.Target, in Inspector, pid int, filterPath string) (time.Time, time.Time, bool) {
	mt, ok := t.(interface {
		ModTime(ctx context.Context, path string) (time.Time, error)
	})
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	mtime, err := mt.ModTime(ctx, filterPath)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	started, err := in.StartTime(pid)
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
// ExecStart= ({ path=... ; argv[]=... ; ... }).
func sameExecStart(planned, got string) (string, string, bool) {
	cmds, err := unitfile.Split(planned)
	if err != nil || len(cmds) != 1 {
		return planned, got, false
	}
	want := strings.Join(cmds[0].Argv, " ")
	var argvs []string
	for _, part := range strings.Split(got, " ; ") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "{ ")
		if v, ok := strings.CutPrefix(part, "argv[]="); ok {
			argvs = append(argvs, v)
		}
	}
	if len(argvs) == 1 && argvs[0] == want {
		return "", "", true
	}
	return want, strings.Join(argvs, " | "), false
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

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
