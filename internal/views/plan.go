// Package views says in words, for people, what fencer's commands found:
// a plan (Plan: per host, what each service gets and every file to add,
// change or delete), and verify's reports (Verify). The data they render
// carries facts (plan.Enforcement, plan.Note, verify.Finding); the words
// are here, and -json prints the facts themselves.
package views

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/textdiff"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// Plan writes the plan for people, as Terraform does: per host, what
// each service gets, then every file to add (+), change (~) or delete (-)
// with a diff for text and size and hash for binaries, and a summary line.
func Plan(out io.Writer, p *plan.Plan, color bool) {
	// A plan of thousands of services is hundreds of thousands of lines:
	// one write each would be as many system calls.
	w := bufio.NewWriter(out)
	defer w.Flush()
	c := colors(color)
	if p.ConfigID != "" {
		fmt.Fprintf(w, "configuration %q\n\n", p.ConfigID)
	}
	if len(p.Targets) > 0 {
		fmt.Fprintf(w, "%sWarning: this plan is limited to -target=%s:%s the other hosts and services are not planned, and the files of other services on these hosts are left as they are, whatever the configuration says of them. Use -target for exceptions, such as one host at a time, not routinely.\n\n",
			c.yellow, strings.Join(p.Targets, " -target="), c.reset)
	}
	for _, h := range p.Hosts {
		where := fmt.Sprintf("host %q", h.Name)
		if h.Error != "" {
			fmt.Fprintf(w, "%s%s: %s%s\n\n", c.red, where, h.Error, c.reset)
			continue
		}
		facts := fmt.Sprintf("%s, systemd %d, %s scope", h.Arch, h.SystemdVersion, h.Scope)
		if h.SystemdVersion == 0 {
			facts = fmt.Sprintf("%s, systemd version unknown, %s scope", h.Arch, h.Scope)
		}
		if h.Root != "" {
			facts += ", root " + h.Root
		}
		fmt.Fprintf(w, "%s%s%s (%s)\n", c.bold, where, c.reset, facts)
		if h.Root == "" && h.SSH != nil {
			fmt.Fprintf(w, "  reached over SSH: %s\n", sshLine(h.Address, h.SSH))
		}
		for _, s := range h.Services {
			fmt.Fprintf(w, "  service %q (%s), enforce = %q\n", s.Name, s.Unit, s.Enforce)
			for _, fd := range s.Fds {
				fmt.Fprintf(w, "    fd %d  %-16s %s\n", fd.Number, fd.Name, fd.Binding)
			}
			fmt.Fprintf(w, "    filter %s: %d instructions, sha256 %s\n", s.FilterPath, s.FilterInsns, plan.ShortHash(s.FilterSHA256))
			if s.ExecStart != "" {
				fmt.Fprintf(w, "    runs   %s\n", s.ExecStart)
			}
			for _, e := range enforcementLines(s) {
				fmt.Fprintf(w, "    - %s\n", e)
			}
		}
		changed := false
		for _, ch := range h.Changes {
			if ch.Action == plan.NoOp {
				continue
			}
			changed = true
			renderChange(w, ch, plan.KeepsEarlier(h, ch), c)
		}
		for _, r := range h.Restarts {
			changed = true
			fmt.Fprintf(w, "\n  %s↻ %s%s  restart needed: %s\n", c.yellow, r.Unit, c.reset, strings.TrimPrefix(r.Reason, "restart needed: "))
		}
		if !changed {
			fmt.Fprintf(w, "\n  No changes: the host matches the configuration.\n")
		}
		if len(h.Notes) > 0 {
			fmt.Fprintln(w)
		}
		for _, n := range h.Notes {
			fmt.Fprintf(w, "  note: %s\n", noteText(n))
		}
		fmt.Fprintln(w)
	}
	n := p.Counts()
	if failed := len(p.Failed()); failed > 0 {
		fmt.Fprintf(w, "%sPlan incomplete:%s %d of %d hosts could not be planned.\n", c.red, c.reset, failed, len(p.Hosts))
		return
	}
	if !p.HasChanges() {
		fmt.Fprintf(w, "%sNo changes.%s Your hosts match the configuration.\n", c.green, c.reset)
		return
	}
	restart := ""
	if n.Restart > 0 {
		restart = fmt.Sprintf(", %d to restart (apply -restart)", n.Restart)
	}
	fmt.Fprintf(w, "%sPlan:%s %d to add, %d to change, %d to destroy%s.\n", c.bold, c.reset, n.Add, n.Change, n.Destroy, restart)
}

func renderChange(w io.Writer, ch *plan.Change, earlier bool, c palette) {
	sign, col := map[plan.ChangeAction]string{plan.Create: "+", plan.Update: "~", plan.Delete: "-"}[ch.Action], map[plan.ChangeAction]string{plan.Create: c.green, plan.Update: c.yellow, plan.Delete: c.red}[ch.Action]
	role := ch.Role.String()
	switch {
	case ch.TakeOver && ch.Owner != "":
		role += fmt.Sprintf(", taken over from configuration %q", ch.Owner)
	case ch.TakeOver:
		role += ", taken over: it is not fencer's (no fencer header)"
	case ch.Restore:
		role += ", put back as it was before fencer took it over"
	case ch.Role == plan.RoleOriginal && ch.Action == plan.Delete:
		role = "original, put back in its place"
	case ch.Role == plan.RoleOriginal:
		role = "original, kept for destroy to put back"
	}
	fmt.Fprintf(w, "\n  %s%s %s%s  (%s)\n", col, sign, ch.Path, c.reset, role)
	switch {
	case ch.TakeOver && earlier:
		fmt.Fprintf(w, "      %sapply replaces it and keeps the file from before fencer, at %s, which destroy puts back; apply refuses this unless run with -adopt=%s%s\n", c.bold, ch.Original, ch.Path, c.reset)
	case ch.TakeOver:
		fmt.Fprintf(w, "      %sapply keeps it at %s and destroy puts it back; apply refuses this unless run with -adopt=%s%s\n", c.bold, ch.Original, ch.Path, c.reset)
	}
	if ch.Restore {
		fmt.Fprintf(w, "      from %s\n", ch.Original)
	}
	if ch.Action == plan.Update && ch.PriorMode != 0 && ch.PriorMode != ch.Mode {
		fmt.Fprintf(w, "      mode %04o -> %04o\n", ch.PriorMode, ch.Mode)
	}
	switch {
	case ch.Binary:
		switch ch.Action {
		case plan.Create:
			fmt.Fprintf(w, "      %d bytes, sha256 %s\n", ch.NewSize(), plan.ShortHash(ch.NewSHA256))
		case plan.Update:
			fmt.Fprintf(w, "      %d -> %d bytes, sha256 %s -> %s\n", ch.PriorSize, ch.NewSize(), plan.ShortHash(ch.PriorSHA256), plan.ShortHash(ch.NewSHA256))
		case plan.Delete:
			fmt.Fprintf(w, "      %d bytes, sha256 %s\n", ch.PriorSize, plan.ShortHash(ch.PriorSHA256))
		}
	case tooLongToShow(ch.Prior) || tooLongToShow(string(ch.Content)):
		fmt.Fprintf(w, "      %d -> %d bytes, sha256 %s -> %s (too long to show)\n", ch.PriorSize, len(ch.Content), plan.ShortHash(ch.PriorSHA256), plan.ShortHash(ch.NewSHA256))
	case ch.Action == plan.Update:
		d := textdiff.Unified(ch.Path, ch.Path, []byte(ch.Prior), ch.Content, 3)
		for _, line := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") {
				continue
			}
			fmt.Fprintf(w, "      %s\n", colorLine(line, c))
		}
	default:
		text, sign := string(ch.Content), "+"
		if ch.Action == plan.Delete {
			text, sign = ch.Prior, "-"
		}
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", colorLine(sign+" "+line, c))
		}
	}
}

// tooLongToShow reports whether a text is longer than plan shows in full
// or as a diff: the files fencer writes are a few kilobytes, and the time
// a diff takes grows with the product of the lengths of the texts when
// they share little (a hand-made plan file, a huge file on the host).
func tooLongToShow(s string) bool {
	return len(s) > 256<<10 || strings.Count(s, "\n") > 4000
}

func colorLine(line string, c palette) string {
	switch {
	case strings.HasPrefix(line, "+"):
		return c.green + line + c.reset
	case strings.HasPrefix(line, "-"):
		return c.red + line + c.reset
	}
	return line
}

type palette struct{ bold, red, green, yellow, reset string }

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{bold: "\x1b[1m", red: "\x1b[31m", green: "\x1b[32m", yellow: "\x1b[33m", reset: "\x1b[0m"}
}

// enforcementLines says what enforces a service's policy (its
// Enforcement), one line each.
func enforcementLines(s *plan.ServicePlan) []string {
	e := s.Enforcement
	var out []string
	for _, u := range e.Unknown {
		switch {
		case u.LoaderNeeds:
			out = append(out, fmt.Sprintf("syscall names: the BPF filter only: the loader needs %s, which the host's systemd does not know, so SystemCallFilter= could not allow it", u.Name))
		case u.Policy != "":
			out = append(out, fmt.Sprintf("syscall names: the BPF filter only: the host's systemd does not know %s, which the policy gives %s, and SystemCallFilter= would give it %s instead", u.Name, u.Policy, e.Default))
		default:
			out = append(out, fmt.Sprintf("note: %s is left out of SystemCallFilter=: the host's systemd does not know the name (its filter gives it %s, as the policy does; the BPF filter decides it too)", u.Name, e.Default))
		}
	}
	if e.Loader != "" {
		out = append(out, fmt.Sprintf("argument conditions (%d rules): the BPF filter, installed by %s exec before the service starts", s.ConditionRules, e.Loader))
	}
	if e.ExecOnce {
		out = append(out, "exec once: no rule names execve, so the loader's exec of the service is the only one; every later execve fails with ENOSYS (Linux 5.5 or newer)")
	}
	switch e.Names {
	case plan.NamesSystemdAlone:
		out = append(out, fmt.Sprintf("syscall names: systemd SystemCallFilter= alone (enforce = \"systemd\": no BPF filter, no argument conditions): %d allowed, %d denied by name, the rest %s",
			e.Allowed, e.Denied, e.Default))
	case plan.NamesBoth:
		out = append(out, fmt.Sprintf("syscall names (%d): systemd SystemCallFilter=, as well", e.Allowed))
	default:
		out = append(out, fmt.Sprintf("syscall names: the BPF filter only (systemd cannot express default_action %s)", e.Default))
	}
	for _, n := range e.Narrowed {
		out = append(out, "narrowed: "+resolve.NarrowedWords(n.Rule, n.Syscall, n.Allows, n.Verdict))
	}
	names := "the policy's syscall names only"
	if s.Enforce == hclspec.EnforceExec {
		names += " (plus the loader's)"
	}
	for _, c := range e.OtherCommands {
		out = append(out, fmt.Sprintf("warning: %s=%s runs under SystemCallFilter= too, with %s: fencer does not wrap it, so the BPF filter does not apply to it, only systemd's names; add the syscalls it needs to the policy, or prefix it with + to run it unsandboxed (%s:%d)",
			c.Key, c.Command, names, c.Path, c.Line))
	}
	return out
}

// noteText says a plan's note in words.
func noteText(n plan.Note) string {
	switch n.Kind {
	case plan.NoteLegacyHeader:
		return fmt.Sprintf("%s has the header of a fencer from before configurations had ids, so which configuration installed it is unknown; this configuration does not plan it, and leaves it alone: remove it by hand if none uses it", n.Path)
	case plan.NoteNoLongerPlanned:
		return fmt.Sprintf("%s is this configuration's %s for %s, which no longer gets one; plan read it as part of %s and leaves it: remove it by hand, or destroy and apply again", n.Path, n.Role, n.Unit, n.Unit)
	case plan.NoteDefaultID:
		return fmt.Sprintf("%s is a %s for %s of configuration %q, which this configuration no longer plans; %q is only this configuration's default id (its directory's name), which a configuration in another directory of that name has too, so plan leaves the file: declare fencer { id = %q } to have plan remove it as this configuration's, or remove it by hand",
			n.Path, n.Role, n.Unit, n.ID, n.ID, n.ID)
	case plan.NoteDestroyLeaves:
		return fmt.Sprintf("%s (%s) %s: destroy leaves it", n.Path, n.Role, unittext.Whose(n.Owner))
	case plan.NoteForeignDropIn:
		return fmt.Sprintf("%s (filter) is run by %s, which %s: left as it is", n.Path, n.DropIn, unittext.Whose(n.Owner))
	}
	return fmt.Sprintf("%s: %s", n.Path, n.Kind)
}

// sshLine is how a saved plan reaches a host over SSH, for whoever
// reviews it: where, as whom, through what, checked against which
// known_hosts file, with which key.
func sshLine(address string, s *plan.SSH) string {
	user := s.User
	if user == "" {
		user = "(the user running fencer)"
	}
	out := fmt.Sprintf("%s@%s port %d", user, address, s.Port)
	if s.Bastion != "" {
		out += " via " + s.Bastion
	}
	if s.Become != "" {
		out += ", become " + s.Become
	}
	known := s.KnownHostsFile
	if known == "" {
		known = "~/.ssh/known_hosts"
	}
	out += ", host keys from " + known
	if s.IdentityFile != "" {
		out += ", key " + s.IdentityFile
	}
	return out
}
