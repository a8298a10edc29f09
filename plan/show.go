package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/fencer-dev/fencer/internal/textdiff"
)

// Render writes the plan for people, as Terraform does: per host, what
// each service gets, then every file to add (+), change (~) or delete (-)
// with a diff for text and size and hash for binaries, and a summary line.
func Render(w io.Writer, p *Plan, color bool) {
	c := colors(color)
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
			renderChange(w, ch, c)
		}
		for _, r := range h.Restarts {
			changed = true
			fmt.Fprintf(w, "\n  %s↻ %s%s  restart needed: %s\n", c.yellow, r.Unit, c.reset, strings.TrimPrefix(r.Reason, "restart needed: "))
		}
		if !changed {
			fmt.Fprintf(w, "\n  No changes: the host matches the configuration.\n")
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

func renderChange(w io.Writer, ch *Change, c palette) {
	sign, col := map[ChangeAction]string{Create: "+", Update: "~", Delete: "-"}[ch.Action], map[ChangeAction]string{Create: c.green, Update: c.yellow, Delete: c.red}[ch.Action]
	fmt.Fprintf(w, "\n  %s%s %s%s  (%s)\n", col, sign, ch.Path, c.reset, ch.Role)
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

// ReadJSON reads a plan file, refusing other format versions.
func ReadJSON(r io.Reader) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan file format version %d; this fencer reads version %d: make the plan again", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}
