package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/internal/textdiff"
)

// Render writes the plan for people, as Terraform does: per host, what
// each service gets, then every file to add (+), change (~) or delete (-)
// with a diff for text and size and hash for binaries, and a summary line.
func Render(w io.Writer, p *Plan, color bool) {
	c := colors(color)
	if p.ConfigID != "" {
		fmt.Fprintf(w, "configuration %q\n\n", p.ConfigID)
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
		for _, s := range h.Services {
			fmt.Fprintf(w, "  service %q (%s), enforce = %q\n", s.Name, s.Unit, s.Enforce)
			for _, fd := range s.Fds {
				fmt.Fprintf(w, "    fd %d  %-16s %s\n", fd.Number, fd.Name, fd.Binding)
			}
			fmt.Fprintf(w, "    filter %s: %d instructions, sha256 %s\n", s.FilterPath, s.FilterInsns, short(s.FilterSHA256))
			if s.ExecStart != "" {
				fmt.Fprintf(w, "    runs   %s\n", s.ExecStart)
			}
			for _, e := range s.Enforcement {
				fmt.Fprintf(w, "    - %s\n", e)
			}
		}
		changed := false
		for _, ch := range h.Changes {
			if ch.Action == NoOp {
				continue
			}
			changed = true
			renderChange(w, ch, KeepsEarlier(h, ch), c)
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
			fmt.Fprintf(w, "  note: %s\n", n)
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

// KeepsEarlier reports whether the take-over ch leaves in place the
// original fencer kept of its file before (another configuration's file is
// replaced, and the file from before fencer stays kept): the plan does not
// change the original, which is not ch's file.
func KeepsEarlier(h *HostPlan, ch *Change) bool {
	if !ch.TakeOver {
		return false
	}
	for _, o := range h.Changes {
		if o.Path == ch.Original {
			return o.Action == NoOp && o.NewSHA256 != ch.PriorSHA256
		}
	}
	return false
}

func renderChange(w io.Writer, ch *Change, earlier bool, c palette) {
	sign, col := map[ChangeAction]string{Create: "+", Update: "~", Delete: "-"}[ch.Action], map[ChangeAction]string{Create: c.green, Update: c.yellow, Delete: c.red}[ch.Action]
	role := ch.Role
	switch {
	case ch.TakeOver && ch.Owner != "":
		role += fmt.Sprintf(", taken over from configuration %q", ch.Owner)
	case ch.TakeOver:
		role += ", taken over: it is not fencer's (no fencer header)"
	case ch.Restore:
		role += ", put back as it was before fencer took it over"
	case ch.Role == RoleOriginal && ch.Action == Delete:
		role = "original, put back in its place"
	case ch.Role == RoleOriginal:
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
	if ch.Action == Update && ch.PriorMode != 0 && ch.PriorMode != ch.Mode {
		fmt.Fprintf(w, "      mode %04o -> %04o\n", ch.PriorMode, ch.Mode)
	}
	switch {
	case ch.Binary:
		switch ch.Action {
		case Create:
			fmt.Fprintf(w, "      %d bytes, sha256 %s\n", len(ch.Content), short(ch.NewSHA256))
		case Update:
			fmt.Fprintf(w, "      %d -> %d bytes, sha256 %s -> %s\n", ch.PriorSize, len(ch.Content), short(ch.PriorSHA256), short(ch.NewSHA256))
		case Delete:
			fmt.Fprintf(w, "      %d bytes, sha256 %s\n", ch.PriorSize, short(ch.PriorSHA256))
		}
	case tooLongToShow(ch.Prior) || tooLongToShow(string(ch.Content)):
		fmt.Fprintf(w, "      %d -> %d bytes, sha256 %s -> %s (too long to show)\n", ch.PriorSize, len(ch.Content), short(ch.PriorSHA256), short(ch.NewSHA256))
	case ch.Action == Update:
		d := textdiff.Unified(ch.Path, ch.Path, []byte(ch.Prior), ch.Content, 3)
		for _, line := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") {
				continue
			}
			fmt.Fprintf(w, "      %s\n", colorLine(line, c))
		}
	default:
		text, sign := string(ch.Content), "+"
		if ch.Action == Delete {
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

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

type palette struct{ bold, red, green, yellow, reset string }

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{bold: "\x1b[1m", red: "\x1b[31m", green: "\x1b[32m", yellow: "\x1b[33m", reset: "\x1b[0m"}
}

// WriteJSON writes the plan as JSON: the plan file format, which -json
// prints as well.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	return nil
}

// WriteDisplayJSON writes the plan as -json shows it: the plan file's
// format without the content of binary files (the loader alone is
// megabytes), which the hashes and sizes identify, and with text files'
// new content as text.
func WriteDisplayJSON(w io.Writer, p *Plan) error {
	c := *p
	c.Hosts = make([]*HostPlan, len(p.Hosts))
	for i, h := range p.Hosts {
		hc := *h
		hc.Changes = make([]*Change, len(h.Changes))
		for j, ch := range h.Changes {
			cc := *ch
			if !cc.Binary && cc.Content != nil {
				cc.Text = string(cc.Content)
			}
			cc.Content = nil
			hc.Changes[j] = &cc
		}
		c.Hosts[i] = &hc
	}
	return WriteJSON(w, &c)
}

// ReadJSON reads a plan file: at most MaxFileBytes of one JSON object of
// this format version, holding nothing a plan fencer makes could not
// (Check); anything else is refused.
func ReadJSON(r io.Reader) (*Plan, error) {
	b, err := readlimit.All(r, "the plan file", MaxFileBytes, "a plan file")
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("read plan file: there is more after the plan")
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan file format version %d; this fencer reads version %d: make the plan again", p.FormatVersion, FormatVersion)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("plan file: %w; fencer does not apply or show it", err)
	}
	return &p, nil
}
