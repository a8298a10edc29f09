package unitfilter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/syscallgroups"
	"github.com/hashicorp/hcl/v2"
)

// Import reads unit on host t (NAME or NAME.service) the way plan reads
// it — the unit file along the host's search path, its aliases and every
// drop-in — and writes what its seccomp settings enforce (Evaluate,
// Write), with the groups of the host's systemd-analyze syscall-filter.
// inputs holds the unit's files by path, for diagnostics, which name the
// file and line of the assignment; the text is nil on error.
func Import(ctx context.Context, t host.Target, unit string) (text []byte, e *Effective, inputs map[string][]byte, diags hcl.Diagnostics) {
	fail := func(summary string, err error) ([]byte, *Effective, map[string][]byte, hcl.Diagnostics) {
		return nil, nil, inputs, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error() + "."})
	}
	inputs = map[string][]byte{}
	if !strings.Contains(unit, ".") {
		unit += ".service"
	}
	if !strings.HasSuffix(unit, ".service") {
		return fail("Not a service", fmt.Errorf("%s is not a service unit: fencer's policies are for services", unit))
	}
	facts, err := t.Facts(ctx)
	if err != nil {
		return fail("Cannot read the host", err)
	}
	lk, err := host.UnitLookup(ctx, t, facts.UnitSearchPath, nil)
	if err != nil {
		return fail("Cannot read the unit search path", err)
	}
	u, err := lk.Unit(unit)
	if err != nil {
		return fail("Cannot read the unit", err)
	}
	var paths []string
	for _, fr := range u.Fragments {
		inputs[fr.Path] = fr.Data
		paths = append(paths, fr.Path)
	}
	settings, err := Read(u.Fragments)
	if err != nil {
		return fail("Cannot read the unit", err)
	}
	dump, err := t.Analyze(ctx, "syscall-filter")
	if err != nil {
		return fail("Cannot list systemd's syscall groups", fmt.Errorf("systemd-analyze syscall-filter: %w", err))
	}
	groups, err := syscallgroups.Parse(dump)
	if err != nil {
		return fail("Cannot list systemd's syscall groups", fmt.Errorf("systemd-analyze syscall-filter: %w", err))
	}
	if groups.Version == "" && facts.SystemdVersion > 0 {
		groups.Version = fmt.Sprintf("systemd %d", facts.SystemdVersion)
	}
	e = Evaluate(settings, groups, knownTo(facts), facts.Arch)
	diags = append(diags, e.Diags...)
	text, err = Write(e, WriteOptions{
		Service: hclspec.Name(strings.TrimSuffix(u.Name, ".service")), Unit: u.Name, Native: facts.Arch, Groups: groups,
		Header: []string{
			fmt.Sprintf("The seccomp settings of %s (SystemCallFilter=, SystemCallErrorNumber=,", u.Name),
			"SystemCallArchitectures=) as this host's systemd reads them from " + strings.Join(paths, ", ") + ",",
			"imported by fencer import systemd: a starting policy, allowing what systemd allows",
			"whatever the arguments. Add conditions to the rules, and narrow them.",
		},
	})
	if errors.Is(err, ErrNoFilter) {
		rng := hcl.Range{Filename: paths[0], Start: hcl.InitialPos, End: hcl.InitialPos}
		return nil, e, inputs, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No system call filter",
			Detail:  fmt.Sprintf("%s has no SystemCallFilter= (or its assignments leave none): systemd lets it make every syscall, and there is nothing to import. fencer record -unit %s records what it does.", u.Name, u.Name),
			Subject: &rng})
	}
	if err != nil {
		return fail("Cannot write the configuration", err)
	}
	return text, e, inputs, diags
}

// knownTo returns whether the host's systemd resolves a syscall name: a
// name of one of fencer's architectures that the host's systemd did not
// refuse (host.SystemdFacts.Unknown).
func knownTo(facts *host.Facts) func(string) bool {
	return func(name string) bool {
		if facts.Systemd != nil && facts.Systemd.Unknown[name] {
			return false
		}
		for _, a := range arch.All() {
			if _, ok := a.Syscall(name); ok {
				return true
			}
		}
		return false
	}
}
