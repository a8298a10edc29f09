package why

import (
	"fmt"
	"io"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
)

// matchWords says, for people, how a process was matched to the unit.
var matchWords = map[string]string{
	"main_pid":  "the unit's main process (systemd's ExecMainPID)",
	"cgroup":    "a process in the unit's control group",
	"journal":   "a process the journal recorded for the unit, running the same program",
	"program":   "its program, which is the unit's (it may be another process running the same program)",
	"core_file": "the core file given with -core",
	"systemd":   "systemd's record of the unit's main process",
}

// Render writes the reports for people.
func Render(w io.Writer, reports []*Report) {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		renderReport(w, r)
	}
}

func renderReport(w io.Writer, r *Report) {
	head := fmt.Sprintf("%s (service.%s, %s) on host %q", r.Unit, r.Service, r.Arch, r.Host)
	if r.Error != "" {
		fmt.Fprintf(w, "%s: cannot look: %s\n", head, r.Error)
		return
	}
	fmt.Fprintf(w, "%s: %d seccomp event(s) since %s\n", head, len(r.Events), r.Since.Format(timeFormat))
	for _, ev := range r.Events {
		fmt.Fprintln(w)
		renderEvent(w, ev)
	}
	fmt.Fprintln(w)
	var srcs []string
	for _, s := range r.Sources {
		var text string
		switch s.Status {
		case "read":
			text = fmt.Sprintf("%s: %d seccomp record(s) of any process", s.Name, s.Records)
			if s.Lost > 0 {
				text += fmt.Sprintf(", %d record(s) of any process lost", s.Lost)
			}
		case "absent":
			text = s.Name + ": absent"
		default:
			text = fmt.Sprintf("%s: %s", s.Name, s.Detail)
		}
		if s.Status == "read" && s.Detail != "" {
			text += " (" + s.Detail + ")"
		}
		srcs = append(srcs, text)
	}
	fmt.Fprintf(w, "Read: %s.\n", strings.Join(srcs, "; "))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s.\n", strings.TrimSuffix(n, "."))
	}
	if len(r.Events) == 0 {
		fmt.Fprintf(w, "No seccomp record of %s's processes since %s.\n", r.Unit, r.Since.Format(timeFormat))
	}
}

// verbs says what happened to the process, by action.
func verbOf(action string) string {
	switch {
	case action == "kill_process":
		return "killed"
	case action == "kill_thread":
		return "had a thread killed"
	case strings.HasPrefix(action, "trap"):
		return "sent SIGSYS (trap)"
	case strings.HasPrefix(action, "errno"):
		return "had a call failed (" + action + ")"
	case action == "log":
		return "logged"
	}
	return "stopped (" + action + ")"
}

func renderEvent(w io.Writer, ev *Event) {
	name := ev.Comm
	if name == "" {
		name = "?"
	}
	when := "at an unknown time"
	if !ev.Time.IsZero() {
		when = "at " + ev.Time.Format(timeFormat)
	}
	fmt.Fprintf(w, "pid %d (%s) %s %s\n", ev.PID, name, verbOf(ev.Action), when)
	field := func(k, v string) { fmt.Fprintf(w, "  %-11s %s\n", k+":", v) }
	if ev.Exe != "" {
		field("program", ev.Exe)
	}
	if ev.SyscallNr != nil {
		field("syscall", Syscall{Arch: ev.Arch, Name: ev.Syscall, X32: ev.X32}.describe(ev.call))
		if ev.Compat {
			field("entry", "a compatibility entry (a 32-bit call on a 64-bit kernel)")
		}
	}
	if ev.Action != "" {
		a := ev.Action
		if ev.Signal != 0 {
			a += fmt.Sprintf(" (signal %d", ev.Signal)
			if ev.Signal == 31 {
				a += ", SIGSYS"
			}
			a += ")"
		}
		if ev.Code != "" {
			a += ", code " + ev.Code
		}
		field("action", a)
	}
	switch {
	case ev.Args != nil:
		// As many as the syscall takes, when fencer knows; the
		// other registers hold whatever the caller left there.
		shown := ev.Args
		if a, ok := arch.Lookup(ev.Arch); ok && ev.Syscall != "" && !ev.X32 {
			if n, ok := a.NumArgs(ev.Syscall); ok && n <= len(shown) {
				shown = shown[:n]
			}
		}
		field("arguments", fmt.Sprintf("%s(%s), from %s", orUnknown(ev.Syscall), strings.Join(shown, ", "), ev.ArgsFrom))
	case ev.Explained && ev.Signal == 31:
		field("arguments", "not known: the kernel's audit record has no arguments, and no core dump of the process was found")
	case ev.Explained:
		field("arguments", "not known: the kernel's audit record has no arguments")
	}
	for i, line := range ev.Explanation {
		if i == 0 {
			fmt.Fprintf(w, "  %s\n", line)
			continue
		}
		fmt.Fprintf(w, "    %s\n", line)
	}
	var by []string
	for _, b := range ev.MatchedBy {
		by = append(by, matchWords[b])
	}
	field("matched by", strings.Join(by, "; "))
	for _, rec := range ev.Records {
		field("record", fmt.Sprintf("%s, audit(%s)", rec.Source, rec.ID))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "syscall"
	}
	return s
}
