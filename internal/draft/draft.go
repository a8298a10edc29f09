// Package draft writes a fencer configuration from what a recording saw
// (an observe.Recording): one service with the fds the program started
// with, its syscalls grouped into rules the way a person writes them,
// argument conditions where every recorded call supports them and the
// argument has a fixed meaning (an fd the program started with, a flag or
// a command named by its constant), comments saying what was seen and how
// often, and test blocks for both sides of the rules. The policy it writes
// allows every call of the recording (Check proves it on the compiled
// filter), so the recorded workload runs again under it without a kill.
package draft

import (
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// Options say how Write names and places the service.
type Options struct {
	// Service is the service block's label. Empty: the unit's name
	// without ".service", else the command's base name, made a valid
	// name.
	Service string
	// Unit is the systemd unit. Empty: the recording's unit, else the
	// service's name with ".service".
	Unit string
	// Hosts are the host blocks the service is planned for (the service's
	// hosts list); empty: every host of the configuration.
	Hosts []string
	// Header is the file's first comment lines (what recorded it, when).
	Header []string
}

// Write renders rec as a fencer configuration (the text of one
// .fencer.hcl file, formatted): one service allowing what the recording
// saw and killing the process on anything else, and its tests. The same
// recording gives the same bytes. Write checks its own output: the text
// parses, compiles for rec.Arch, and allows every call of the recording
// (see Check); an error says which call it would not allow.
func Write(rec *observe.Recording, opt Options) ([]byte, error) {
	a, ok := arch.Lookup(rec.Arch)
	if !ok {
		return nil, fmt.Errorf("draft: the recording's architecture %q is not one fencer knows (%s)", rec.Arch, strings.Join(arch.Names(), ", "))
	}
	for _, h := range opt.Hosts {
		if !hclsyntax.ValidIdentifier(h) {
			return nil, fmt.Errorf("draft: host %q is not a valid host name", h)
		}
	}
	name, unit, err := names(rec, opt)
	if err != nil {
		return nil, err
	}
	an := analyze(rec, a)
	d := &doc{a: a, rec: rec, an: an, opt: opt, name: name, unit: unit, partCache: map[string][]part{}}
	d.build()
	out := hclwrite.Format([]byte(d.render()))
	files := map[string][]byte{"draft.fencer.hcl": out}
	if len(opt.Hosts) > 0 {
		files["hosts.fencer.hcl"] = hostStubs(opt.Hosts, a)
	}
	if err := check(rec, files, name, true); err != nil {
		return nil, fmt.Errorf("draft: the policy written for %s does not pass its own check: %w", name, err)
	}
	return out, nil
}

// names gives the service's name and unit.
func names(rec *observe.Recording, opt Options) (name, unit string, err error) {
	name, unit = opt.Service, opt.Unit
	if unit == "" {
		unit = rec.Unit
	}
	if name == "" {
		switch {
		case unit != "":
			name = strings.TrimSuffix(unit, ".service")
		case len(rec.Command) > 0:
			name = path.Base(rec.Command[0])
		default:
			name = "recorded"
		}
		name = identifier(name)
	}
	if !hclsyntax.ValidIdentifier(name) {
		return "", "", fmt.Errorf("draft: service name %q is not a valid name (letters, digits, underscores and dashes, starting with a letter or underscore)", name)
	}
	if unit == "" {
		unit = name + ".service"
	}
	return name, unit, nil
}

// identifier makes s a valid HCL name: lower case, every character that
// is not a letter, digit, dash or underscore an underscore, and a leading
// underscore when it would start otherwise than with a letter.
func identifier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || !(out[0] >= 'a' && out[0] <= 'z' || out[0] == '_') {
		out = "_" + out
	}
	return out
}

// hostStubs declares the hosts the service names, on a, for the check.
func hostStubs(hosts []string, a *arch.Arch) []byte {
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "host %s {\n  arch = %s\n}\n", hclString(h), hclString(a.Name))
	}
	return []byte(b.String())
}
