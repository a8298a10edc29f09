package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan/loader"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// unitRead is what planning a service read of its unit: the fragments,
// none when the unit is found nowhere or masked.
type unitRead struct {
	unit  string
	frags []unitfile.Fragment
	// scan is what the socket units on the search path do to the unit.
	scan *socketScan
}

// servicePlan is one service planned on one host (planService): what the
// host gets for it, and what the plan read of the host to say so.
type servicePlan struct {
	files []*File
	sp    *ServicePlan
	read  *unitRead
}

// planner plans one service on one host. planService runs its steps in
// order, each a method that adds to what the earlier ones found.
type planner struct {
	ctx   context.Context
	t     host.Reader
	facts *host.Facts
	// lk is the host's unit search path, nil for destroy, which reads no
	// unit.
	lk   *hostUnits
	h    *hclspec.Host
	svc  *hclspec.Service
	a    *arch.Arch
	opts Options

	c    *resolve.Compiled
	prog []byte // the filter as the host's kernel reads it
	out  servicePlan
	// in is what the drop-in is rendered from.
	in unittext.DropIn
	// unit is what systemd loads for the service, frags its fragments,
	// theirs those without fencer's drop-in (none for destroy).
	unit   *unitfile.Unit
	frags  []unitfile.Fragment
	theirs []unitfile.Fragment
}

// planService compiles svc for the host and plans its files: the filter,
// the unit file and socket unit fencer writes for it, the drop-in, and the
// loader where the host lacks it. lk is the host's unit search path (nil
// for destroy). A mistake in the policy is a diagnostic; what keeps the
// service from being planned on this host is the error.
func planService(ctx context.Context, t host.Reader, facts *host.Facts, lk *hostUnits, h *hclspec.Host, svc *hclspec.Service, a *arch.Arch, opts Options) (*servicePlan, hcl.Diagnostics, error) {
	if !resolve.AppliesTo(svc.Arch, a) {
		return nil, hcl.Diagnostics{excludedArch(h, svc, a)}, nil
	}
	c, diags := resolve.Compile(svc, a)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	p := &planner{ctx: ctx, t: t, facts: facts, lk: lk, h: h, svc: svc, a: a, opts: opts, c: c}
	p.describe()
	steps := []func() error{
		p.checkHost,     // what this host's systemd cannot do
		p.filterFiles,   // the filter (or its removal) and fencer's unit files
		p.systemdNames,  // the drop-in's SystemCallFilter= and friends
		p.readUnit,      // what systemd loads for the service
		p.wrap,          // the loader that runs the service (enforce = "exec")
		p.enforcement,   // what enforces what, for people
		p.checkCommands, // the unit's commands the policy must cover
		p.checkSandbox,  // the loader and filter where the service sees them
		p.checkDropIns,  // the host's drop-ins that would undo fencer's
		p.checkSockets,  // the fds systemd passes
		p.dropIn,        // the drop-in itself
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, diags, err
		}
	}
	return &p.out, diags, nil
}

// excludedArch is the error of a service planned on a host whose
// architecture its arch list leaves out: plan refuses the host rather
// than leave the service there without a filter.
func excludedArch(h *hclspec.Host, svc *hclspec.Service, a *arch.Arch) *hcl.Diagnostic {
	rng := svc.ArchRange
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Service not for this host's architecture",
		Detail: fmt.Sprintf("The service %q is limited to %s, but host %q, which it is planned on, is %s: "+
			"fencer would have no filter to install there. Take the host out of the service's hosts, or add %q to its arch list.",
			svc.Name, strings.Join(svc.Arch, ", "), h.Name, a.Name, a.Name),
		Subject: &rng,
	}
}

// failf is the error of a step: the service's name, then what keeps it
// from being planned on this host.
func (p *planner) failf(format string, args ...any) error {
	return fmt.Errorf("service %q: "+format, append([]any{p.svc.Name}, args...)...)
}

// record records the overrides a step found in the service's plan, for
// verify (Options.Verify); for plan and apply the first one is the error,
// after its path when withPath is set.
func (p *planner) record(overrides []Override, withPath bool) error {
	if len(overrides) > 0 && !p.opts.Verify {
		if withPath {
			return p.failf("%s: %s", overrides[0].Path, overrides[0].Problem())
		}
		return p.failf("%s", overrides[0].Problem())
	}
	p.out.sp.Overrides = append(p.out.sp.Overrides, overrides...)
	return nil
}

// describe starts the service's plan: its unit, fds, filter and default.
func (p *planner) describe() {
	svc, c := p.svc, p.c
	p.prog = c.Program.Encode(p.a.Order)
	sp := &ServicePlan{Name: svc.Name, Unit: svc.Unit, Enforce: svc.Enforce,
		FilterPath: RoleFilter.Path(p.facts.Paths, svc.Unit), FilterSHA256: Hash(p.prog), FilterInsns: len(c.Program)}
	sp.Enforcement.Default = c.Filter.Default.String()
	if svc.Enforce == hclspec.EnforceSystemd {
		// No loader installs a BPF filter: systemd's names are all.
		sp.FilterPath, sp.FilterSHA256, sp.FilterInsns = "", "", 0
	}
	for _, fd := range svc.Fds {
		sp.Fds = append(sp.Fds, FdPlan{Name: fd.Name, Number: fd.Number, Binding: bindingText(fd)})
	}
	for _, r := range c.Filter.Rules {
		if r.When != policy.Const(true) {
			sp.ConditionRules++
		}
	}
	p.out.sp = sp
}

// checkHost refuses what the host's systemd cannot do for the service.
func (p *planner) checkHost() error {
	svc, facts := p.svc, p.facts
	if strings.Contains(svc.Unit, ":") && facts.Systemd != nil && !facts.Systemd.ColonUnitsVerify {
		return p.failf("unit %s has a ':' in its name, and this host's systemd-analyze verify fails on such names (systemd 252 says \"Couldn't process aliases\"), so apply could not verify the unit before it reloads systemd: give the unit a name without ':'", svc.Unit)
	}
	for _, fd := range svc.Fds {
		if v := fd.Kind.MinSystemd(); v != 0 && facts.SystemdVersion != 0 && facts.SystemdVersion < v {
			return p.failf("fd %q uses %s, which needs systemd %d or newer; this host has systemd %d", fd.Name, fd.Kind, v, facts.SystemdVersion)
		}
	}
	return nil
}

// filterFiles adds the filter, or with enforce = "systemd" the removal of
// one an earlier enforce = "exec" installed, and fencer's unit files.
func (p *planner) filterFiles() error {
	svc, ps := p.svc, p.facts.Paths
	if svc.Enforce == hclspec.EnforceExec {
		p.out.files = append(p.out.files, &File{Path: p.out.sp.FilterPath, Content: p.prog, Mode: RoleFilter.Mode(), Binary: true, Units: []string{svc.Unit}, Role: RoleFilter})
	} else {
		p.out.files = append(p.out.files, &File{Path: RoleFilter.Path(ps, svc.Unit), Remove: true, Binary: true, Units: []string{svc.Unit}, Role: RoleFilter})
	}
	p.out.files = append(p.out.files, unitFiles(ps, svc, p.opts.id)...)
	return nil
}

// systemdNames renders the drop-in's seccomp settings: the whole policy
// with enforce = "systemd", the names of the policy's syscalls otherwise.
func (p *planner) systemdNames() error {
	c, facts := p.c, p.facts
	p.in = unittext.DropIn{Service: p.svc, ID: p.opts.id}
	if c.Systemd != nil {
		lines, err := unittext.SystemdSettings(c.Systemd, p.a, facts.SystemdDefault(), facts.SystemdKnows)
		if err != nil {
			return p.failf("%w", err)
		}
		p.in.Names, p.in.Deny, p.in.Log, p.in.Systemd = lines.Allow, lines.Deny, lines.Log, true
		p.in.Errno = unittext.ErrnoSetting(c.Filter.Default)
	} else {
		p.in.Names, p.in.Errno, p.out.sp.Enforcement.Unknown = unittext.SystemdNames(c.Filter, p.a, nil, facts.SystemdKnows)
	}
	p.out.sp.SystemdFilter = p.in.Names != nil
	return nil
}

// readUnit finds what systemd loads for the service once the plan is
// applied. Destroy needs the files' paths only: a unit that is gone, or
// that cannot be wrapped any more, must not keep fencer's files in place.
func (p *planner) readUnit() error {
	if p.opts.Destroy {
		return nil
	}
	svc, ps, sp := p.svc, p.facts.Paths, p.out.sp
	unit, shadow, err := serviceUnit(p.ctx, p.t, p.lk, ps, svc)
	if err != nil {
		return err
	}
	if shadow != nil {
		if err := p.record([]Override{*shadow}, true); err != nil {
			return err
		}
	}
	// The plan depends on these files; apply reads them again.
	p.unit, p.frags = unit, unit.Fragments
	p.out.read = &unitRead{unit: svc.Unit, frags: p.frags}
	sp.Names, sp.FragmentPath, sp.DropIns = unit.Names, p.frags[0].Path, plannedDropIns(p.frags, RoleDropIn.Path(ps, svc.Unit))
	if svc.UnitFile != nil {
		sp.FragmentPath = RoleUnitFile.Path(ps, svc.Unit)
	}
	// theirs are the unit as it is without fencer's drop-in.
	for _, fr := range p.frags {
		if fr.Path != RoleDropIn.Path(ps, svc.Unit) {
			p.theirs = append(p.theirs, fr)
		}
	}
	return nil
}

// wrap, with enforce = "exec", runs the service's command through the
// loader, which installs the filter, and adds the loader where the host
// lacks it.
func (p *planner) wrap() error {
	svc, h, sp := p.svc, p.h, p.out.sp
	if svc.Enforce != hclspec.EnforceExec || p.opts.Destroy {
		return nil
	}
	cmd, err := execStart(svc, p.frags)
	if err != nil {
		return err
	}
	sp.ExecStart = cmd.Raw
	loaderArgs := []string{"exec", "-filter=" + sp.FilterPath, "-sha256=" + sp.FilterSHA256}
	// systemd starts the service with SIGPIPE ignored unless the unit
	// says IgnoreSIGPIPE=no; the loader, which starts it now, must
	// do the same.
	ignore, err := unitfile.Bool(p.theirs, "Service", "IgnoreSIGPIPE", true)
	if err != nil {
		return p.failf("%w", err)
	}
	if !ignore {
		loaderArgs = append(loaderArgs, "-sigpipe=default")
	}
	wrapped, err := unitfile.Wrap(cmd, h.FencerPath, loaderArgs)
	if err != nil {
		return p.failf("%w", err)
	}
	p.in.ExecStart, sp.WrappedStart = wrapped, wrapped
	if p.in.Names != nil {
		// What the loader needs before it execs the service.
		p.in.Names, p.in.Errno, _ = unittext.SystemdNames(p.c.Filter, p.a, loader.Syscalls(p.a.Name), p.facts.SystemdKnows)
	}
	bin, err := p.opts.hostLoader()
	if err != nil {
		return err
	}
	if bin != nil {
		p.out.files = append(p.out.files, bin)
	}
	// The loader installs the BPF filter, which enforces the
	// argument conditions, and the exec-once gate when no rule
	// names execve.
	sp.Enforcement.Loader = h.FencerPath
	sp.Enforcement.ExecOnce = len(p.c.Filter.ExecOnce) > 0
	return nil
}

// enforcement says what enforces the syscall names.
func (p *planner) enforcement() error {
	e := &p.out.sp.Enforcement
	switch {
	case p.c.Systemd != nil:
		e.Names, e.Allowed, e.Denied = NamesSystemdAlone, len(p.in.Names), len(p.in.Deny)
		for _, n := range p.c.Systemd.Narrowed {
			e.Narrowed = append(e.Narrowed, Narrowed{Rule: n.Rule, Syscall: n.Syscall, Allows: n.Allows, Verdict: n.Verdict.String()})
		}
	case p.out.sp.SystemdFilter:
		e.Names, e.Allowed = NamesBoth, len(p.in.Names)
	default:
		e.Names = NamesFilterOnly
	}
	return nil
}

// checkCommands finds the unit's other commands that run under
// SystemCallFilter=, and with enforce = "systemd" refuses an ExecStart=
// that would run without it.
func (p *planner) checkCommands() error {
	if p.opts.Destroy {
		return nil
	}
	if p.out.sp.SystemdFilter {
		others, err := otherCommands(p.svc, p.theirs)
		if err != nil {
			return err
		}
		p.out.sp.Enforcement.OtherCommands = others
	}
	if p.c.Systemd == nil {
		return nil
	}
	// Nothing wraps the command: its prefixes decide whether
	// SystemCallFilter= applies to it at all.
	cmds, _, err := unitfile.ExecStart(p.theirs)
	if err != nil {
		return p.failf("%w", err)
	}
	for _, cmd := range cmds {
		if cmd.Has("+") || cmd.Has("!!") {
			return p.failf("ExecStart=%s%s (%s:%d) runs without SystemCallFilter= (\"+\" skips the sandbox; \"!!\" widens it where the kernel lacks ambient capabilities), so enforce = \"systemd\" would not apply to the service: remove the prefix",
				cmd.Prefixes, cmd.Raw, cmd.Path, cmd.Line)
		}
	}
	return nil
}

// checkSandbox, with enforce = "exec", checks that the loader and the
// filter are where the service sees them.
func (p *planner) checkSandbox() error {
	if p.svc.Enforce != hclspec.EnforceExec || p.opts.Destroy {
		return nil
	}
	fencer := p.h.FencerPath
	hidden, err := sandboxProblems(p.theirs, p.svc.Unit, scopeSpecifiers(p.facts), [][2]string{{"loader", fencer}, {"filter", p.out.sp.FilterPath}},
		map[string]bool{fencer: true})
	if err != nil {
		return p.failf("%w", err)
	}
	return p.record(hidden, false)
}

// checkDropIns finds the host's drop-ins that would undo fencer's
// (checkDropIns).
func (p *planner) checkDropIns() error {
	if p.opts.Destroy {
		return nil
	}
	overrides, err := checkDropIns(p.svc, p.frags, RoleDropIn.Path(p.facts.Paths, p.svc.Unit), p.in.Text())
	if err != nil {
		return err
	}
	return p.record(overrides, true)
}

// checkSockets finds what would pass the service other fds than the plan
// numbers, or in another order.
func (p *planner) checkSockets() error {
	if p.out.read == nil {
		return nil
	}
	scan, err := scanSockets(p.lk, p.unit, ownSocket(p.facts.Paths, p.svc))
	if err != nil {
		return p.failf("%w", err)
	}
	p.out.read.scan = scan
	problems, err := checkSockets(p.svc, p.theirs, scan)
	if err != nil {
		return err
	}
	return p.record(problems, true)
}

// dropIn adds fencer's drop-in, and its seccomp settings to the plan.
func (p *planner) dropIn() error {
	sp, svc := p.out.sp, p.svc
	sp.SystemCallFilter, sp.SystemCallFilterDenied = p.in.Names, p.in.Deny
	sp.SystemCallErrorNumber, sp.SystemCallLog = p.in.Errno, p.in.Log
	units := []string{svc.Unit}
	if unittext.HasSockets(svc) {
		units = append(units, unittext.SocketUnit(svc.Unit))
	}
	p.out.files = append(p.out.files, &File{Path: RoleDropIn.Path(p.facts.Paths, svc.Unit), Content: p.in.Text(), Mode: RoleDropIn.Mode(), Units: units, Role: RoleDropIn})
	return nil
}

// otherExecKeys are the settings of a service's commands besides
// ExecStart=, in the order systemd runs them.
var otherExecKeys = []string{"ExecCondition", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"}

// otherCommands finds the unit's commands other than ExecStart= (theirs
// are its fragments without fencer's drop-in) that run under
// SystemCallFilter=: systemd applies it to every command of the service
// but those with the "+" prefix, so they run with the policy's names (and
// the loader's) and nothing else, while the BPF filter, which only the
// loader installs, does not apply to them.
func otherCommands(svc *hclspec.Service, theirs []unitfile.Fragment) ([]OtherCommand, error) {
	var out []OtherCommand
	for _, key := range otherExecKeys {
		cmds, err := unitfile.Commands(theirs, key)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		for _, cmd := range cmds {
			if !cmd.Has("+") {
				out = append(out, OtherCommand{Key: key, Command: cmd.String(), Path: cmd.Path, Line: cmd.Line})
			}
		}
	}
	return out, nil
}

// checkDropIns finds the host's drop-ins for the unit that would undo
// fencer's (own, its path; drop, its content): systemd applies drop-ins
// in the order of their file names, so one that sorts after unittext.DropInName
// and assigns a [Service] setting fencer's drop-in sets (SystemCallFilter=
// adds to the list, ExecStart= replaces the wrapped command) overrides
// it; and of the drop-ins of one name only the first along the unit
// search path is read, so a unittext.DropInName elsewhere replaces fencer's.
func checkDropIns(svc *hclspec.Service, frags []unitfile.Fragment, own string, drop []byte) ([]Override, error) {
	ours, err := unitfile.Parse(own, drop)
	if err != nil {
		return nil, fmt.Errorf("service %q: fencer's drop-in: %w", svc.Name, err)
	}
	keys := map[string]bool{}
	for _, e := range ours.Entries {
		if e.Section == "Service" {
			keys[e.Key] = true
		}
	}
	var out []Override
	for _, fr := range frags[1:] {
		base := path.Base(fr.Path)
		if base == unittext.DropInName && fr.Path != own {
			o := Override{Kind: OverrideDropInName, Path: fr.Path, Own: own}
			out = append(out, o)
			continue
		}
		if base <= unittext.DropInName {
			continue
		}
		f, err := unitfile.Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		var set []string
		for _, e := range f.Entries {
			if e.Section == "Service" && keys[e.Key] && !slices.Contains(set, e.Key+"=") {
				set = append(set, e.Key+"=")
			}
		}
		if len(set) > 0 {
			o := Override{Kind: OverrideDropInSettings, Path: fr.Path, Settings: set}
			out = append(out, o)
		}
	}
	return out, nil
}

// bindingText is the fd's binding as the configuration writes it.
func bindingText(fd *hclspec.Fd) string {
	if fd.Kind == hclspec.FdNumber {
		return fmt.Sprintf("number = %d", fd.Number)
	}
	return fmt.Sprintf("%s = %q", fd.Kind, fd.Value)
}

// unitFiles are the unit file (with unit_file) and the socket unit (with
// listen_* fds) fencer writes for the service.
func unitFiles(p host.Paths, svc *hclspec.Service, id string) []*File {
	var files []*File
	if svc.UnitFile != nil {
		files = append(files, &File{Path: path.Join(p.UnitDir, svc.Unit), Content: unittext.UnitFile(svc, id, *svc.UnitFile), Mode: 0o644,
			Units: []string{svc.Unit}, Role: RoleUnitFile})
	}
	if unittext.HasSockets(svc) {
		files = append(files, &File{Path: path.Join(p.UnitDir, unittext.SocketUnit(svc.Unit)), Content: unittext.Socket(svc, id), Mode: 0o644,
			Units: []string{unittext.SocketUnit(svc.Unit)}, Role: RoleSocket})
	}
	return files
}

// serviceUnit finds what systemd will load for the service's unit once
// the plan is applied (lk has fencer's unit files in place), and refuses
// what fencer cannot wrap: a unit the host does not have (apply would
// fail), a masked one, an alias of another unit (systemd loads that unit,
// and fencer's drop-in is read for the alias only as long as the alias
// exists: fencer writes its files for the unit's own name). A unit_file
// that is not the file systemd loads (an earlier copy on the search path
// wins, with its own Sockets= and ExecStart=), or that would replace a
// mask, is returned as an Override: verify reports it as drift.
func serviceUnit(ctx context.Context, t host.Reader, lk *hostUnits, p host.Paths, svc *hclspec.Service) (*unitfile.Unit, *Override, error) {
	own := path.Join(p.UnitDir, svc.Unit)
	u, err := lk.Unit(svc.Unit)
	var masked *unitfile.MaskedError
	switch {
	case errors.As(err, &masked):
		return nil, nil, fmt.Errorf("service %q: unit %s is masked on this host: %s %s, so systemd never starts it; unmask it (systemctl unmask %s), or do not plan the service for this host",
			svc.Name, svc.Unit, masked.Path, masked.How, svc.Unit)
	case errors.Is(err, unitfile.ErrNotFound):
		return nil, nil, fmt.Errorf("service %q: unit %s is not on this host (%v): install the unit there, or give the service a unit_file", svc.Name, svc.Unit, err)
	case err != nil:
		return nil, nil, fmt.Errorf("service %q: reading unit %s: %w", svc.Name, svc.Unit, err)
	}
	if u.ID != svc.Unit {
		return nil, nil, fmt.Errorf("service %q: unit %s is an alias of %s on this host (%s is a link to %s): systemd loads %s, and fencer writes its drop-in for the unit's own name, which does not depend on the alias; set unit = %q",
			svc.Name, svc.Unit, u.ID, u.Link, u.LinkTo, u.ID, u.ID)
	}
	if svc.UnitFile == nil {
		return u, nil, nil
	}
	if u.Fragments[0].Path != own {
		o := &Override{Kind: OverrideUnitFileShadowed, Path: u.Fragments[0].Path, Own: own}
		return u, o, nil
	}
	// fencer's unit file would replace a mask in its place.
	if b, _, err := t.ReadFile(ctx, own); err == nil && len(b) == 0 {
		o := &Override{Kind: OverrideUnitMasked, Path: own, Unit: svc.Unit}
		return u, o, nil
	}
	return u, nil, nil
}

// plannedDropIns lists the drop-ins systemd reads for the unit once
// fencer's own (own) is written: those of frags (the unit file and its
// drop-ins as the host has them) but any of fencer's name, and fencer's,
// in systemd's order.
func plannedDropIns(frags []unitfile.Fragment, own string) []string {
	out := []string{own}
	for _, fr := range frags[1:] {
		if path.Base(fr.Path) != unittext.DropInName {
			out = append(out, fr.Path)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return path.Base(out[i]) < path.Base(out[j]) })
	return out
}

// execStart finds the command to wrap: exec_start, else the unit's own
// (frags, the unit file fencer installs or the host's, with the drop-ins
// but fencer's own). hclspec refuses an exec_start that is not one
// command.
func execStart(svc *hclspec.Service, frags []unitfile.Fragment) (unitfile.Command, error) {
	if svc.ExecStart != nil {
		cmds, err := unitfile.Split(*svc.ExecStart)
		if err != nil {
			return unitfile.Command{}, fmt.Errorf("service %q: exec_start: %w", svc.Name, err)
		}
		if len(cmds) != 1 {
			return unitfile.Command{}, fmt.Errorf("service %q: exec_start must be one command; it has %d", svc.Name, len(cmds))
		}
		return cmds[0], nil
	}
	var theirs []unitfile.Fragment
	for i, fr := range frags {
		if i == 0 || path.Base(fr.Path) != unittext.DropInName {
			theirs = append(theirs, fr)
		}
	}
	cmds, _, err := unitfile.ExecStart(theirs)
	if err != nil {
		return unitfile.Command{}, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	switch len(cmds) {
	case 0:
		return unitfile.Command{}, fmt.Errorf("service %q: unit %s has no ExecStart= to wrap; set exec_start", svc.Name, svc.Unit)
	case 1:
		return cmds[0], nil
	}
	return unitfile.Command{}, fmt.Errorf("service %q: unit %s has %d ExecStart= commands; fencer wraps exactly one — set exec_start", svc.Name, svc.Unit, len(cmds))
}

// loaderFile returns the loader to install at the host's fencer_path, or
// nil when one is there already; opts.Loader is set (Make).
func loaderFile(ctx context.Context, t host.Reader, h *hclspec.Host, a *arch.Arch, opts Options) (*File, error) {
	// Whether it is there, not what it is: reading it would copy the
	// whole binary from a host over SSH on every plan.
	_, err := t.FileMode(ctx, h.FencerPath)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checking the loader at %s: %w", h.FencerPath, err)
	}
	bin, err := opts.Loader.For(a.Name)
	if err != nil {
		return nil, fmt.Errorf("the host (%s) has no loader at %s: %w", a.Name, h.FencerPath, err)
	}
	return &File{Path: h.FencerPath, Loader: bin, Mode: 0o755, Binary: true, Role: RoleLoader}, nil
}
